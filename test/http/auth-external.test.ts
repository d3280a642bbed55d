import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK } from "jose";
import { expect } from "vitest";
import { bearer, keyPair, send, sign } from "../support/auth.js";
import { test } from "../support/fixtures.js";
import { startTestServer } from "../support/server.js";

// Run tokens minted by an orchestrator whose keys are configured (EXTERNAL_RUN_TOKEN_*), end to end.

const orchestrator = keyPair("rsa");
const successor = keyPair("rsa");

const externalConfig = (file: string) => ({
  EXTERNAL_RUN_TOKEN_ISSUER: "https://orchestrator.example",
  EXTERNAL_RUN_TOKEN_JWKS_FILE: file,
  EXTERNAL_RUN_TOKEN_ALGORITHMS: "RS256",
});
const runToken = (projectId: string, kid: string, key = orchestrator) =>
  sign(
    key.privateKey,
    {
      iss: "https://orchestrator.example",
      aud: "collections",
      sub: "run:lightning-run-7",
      project_id: projectId,
      exp: Math.floor(Date.now() / 1000) + 300,
    },
    { alg: "RS256", kid },
  );

/** Writes a JWKS file of these (kid, key) pairs into the file's own directory and returns its path. */
const it = test.extend("jwksFile", { scope: "file" }, async ({}, { onCleanup }) => {
  const dir = mkdtempSync(join(tmpdir(), "auth-external-"));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return async (name: string, ...pairs: [string, typeof orchestrator][]) => {
    const keys = await Promise.all(
      pairs.map(async ([kid, k]) => ({ ...(await exportJWK(k.publicKey)), kid, alg: "RS256" })),
    );
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ keys }));
    return path;
  };
});
it.override("serverEnv", { scope: "file" }, async ({ jwksFile }) =>
  externalConfig(await jwksFile("jwks.json", ["orch-1", orchestrator], ["orch-2", successor])),
);

it("accepts the orchestrator's run tokens for their project only", async ({ server, tenant }) => {
  const name = await tenant.collection();
  const token = bearer(await runToken(tenant.project.id, "orch-1"));
  const write = await send(server, token, "POST", `/collections/${name}`, [{ key: "from-run", value: true }]);
  expect(write.status, JSON.stringify(write.body)).toBe(201);
  const read = await send(server, token, "GET", `/collections/${name}/from-run`);
  expect(read.status).toBe(200);
  expect(read.body.results.map((r: { key: string }) => r.key)).toEqual(["from-run"]);
  const manage = await send(server, token, "POST", `/projects/${tenant.project.id}/collections`, {
    name: "by-run",
  });
  expect(manage.status).toBe(403);
  const elsewhere = bearer(await runToken("00000000-0000-4000-8000-000000000000", "orch-1"));
  expect((await send(server, elsewhere, "GET", `/collections/${name}`)).status).toBe(404);
  // the kid picks the key: orch-1's signature presented as orch-2 fails
  expect(
    (await send(server, bearer(await runToken(tenant.project.id, "orch-2")), "GET", `/collections/${name}`))
      .status,
  ).toBe(401);
});

it("refuses them once their key is removed from the configuration", async ({ tenant, jwksFile }) => {
  const token = bearer(await runToken(tenant.project.id, "orch-1"));
  const successorToken = bearer(await runToken(tenant.project.id, "orch-2", successor));
  const restarted = await startTestServer(
    externalConfig(await jwksFile("jwks-rotated.json", ["orch-2", successor])),
  );
  try {
    const r = await send(restarted, token, "GET", "/collections");
    expect(r.status).toBe(401);
    expect(r.body.message).toMatch(/key this service does not know/);
    expect((await send(restarted, successorToken, "GET", "/collections")).status).toBe(200);
  } finally {
    await restarted.close();
  }
});
