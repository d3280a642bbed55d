import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64url, bearer, keyPair, send, sign, type TestKeyPair } from "../support/auth.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { createTenant, type Tenant } from "../support/tenant.js";

// Key rotation at an external orchestrator (issue 11, defect 11): several public keys of the same type
// configured at once, a token signed by any of them accepted, with or without a `kid` header.

const ISSUER = "https://orchestrator.example";
const previous = keyPair("ec");
const current = keyPair("ec");
const stranger = keyPair("ec");
const rsa = keyPair("rsa");

let dir: string;
let pemServer: TestServer;
let jwksServer: TestServer;
let tenant: Tenant;
let collection: string;

const now = () => Math.floor(Date.now() / 1000);
const claims = (projectId: string, extra: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: "collections",
  sub: "run:rotation-run",
  project_id: projectId,
  exp: now() + 300,
  ...extra,
});
const es256 = (key: TestKeyPair, extra: Record<string, unknown> = {}, kid?: string) =>
  sign(
    key.privateKey,
    claims(tenant.project.id, extra),
    kid === undefined ? { alg: "ES256" } : { alg: "ES256", kid },
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "auth-external-rotation-"));
  // The orchestrator's old and new key, one after the other in one PEM setting (as during a rotation).
  pemServer = await startTestServer({
    EXTERNAL_RUN_TOKEN_ISSUER: ISSUER,
    EXTERNAL_RUN_TOKEN_PUBLIC_KEY: previous.publicPem + current.publicPem,
    EXTERNAL_RUN_TOKEN_ALGORITHMS: "ES256",
  });
  // The same two keys as a JWKS document whose keys carry no kid.
  const jwks = join(dir, "jwks-no-kid.json");
  writeFileSync(
    jwks,
    JSON.stringify({ keys: [await exportJWK(previous.publicKey), await exportJWK(current.publicKey)] }),
  );
  jwksServer = await startTestServer({
    EXTERNAL_RUN_TOKEN_ISSUER: ISSUER,
    EXTERNAL_RUN_TOKEN_JWKS_FILE: jwks,
    EXTERNAL_RUN_TOKEN_ALGORITHMS: "ES256",
  });
  tenant = await createTenant(pemServer.services);
  collection = await tenant.collection();
});
afterAll(async () => {
  await tenant?.cleanup();
  await pemServer?.close();
  await jwksServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

const read = (server: TestServer, token: string) =>
  send(server, bearer(token), "GET", `/collections/${collection}`);
// The JWKS server has a database of its own (embedded): the list of collections needs none of the tenant's.
const list = (server: TestServer, token: string) => send(server, bearer(token), "GET", "/collections");

describe("two PEM keys of the same type (EXTERNAL_RUN_TOKEN_PUBLIC_KEY)", () => {
  it("accepts a token signed by either key, with or without a kid", async () => {
    for (const [what, token] of [
      ["the second key, no kid", await es256(current)],
      ["the second key, an orchestrator kid", await es256(current, {}, "orchestrator-2025")],
      ["the first key, no kid", await es256(previous)],
      ["the first key, an orchestrator kid", await es256(previous, {}, "orchestrator-2024")],
    ] as const) {
      const r = await read(pemServer, token);
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(200);
    }
    // and it writes, as a run token of its project
    const write = await send(pemServer, bearer(await es256(current)), "POST", `/collections/${collection}`, [
      { key: "rotated", value: 1 },
    ]);
    expect(write.status, JSON.stringify(write.body)).toBe(201);
  });

  it("refuses a token signed by a key that is not configured: 401, 'signed by a key this service does not know'", async () => {
    for (const kid of [undefined, "orchestrator-2025"]) {
      const r = await read(pemServer, await es256(stranger, {}, kid));
      expect(r.status).toBe(401);
      expect(r.body.message).toMatch(/signed by a key this service does not know/);
    }
  });

  it("keeps algorithms, issuer, audience and times pinned", async () => {
    const rejects = async (token: string, message: RegExp) => {
      const r = await read(pemServer, token);
      expect(r.status, JSON.stringify(r.body)).toBe(401);
      expect(r.body.message).toMatch(message);
    };
    await rejects(await es256(current, { aud: "elsewhere" }), /audience/);
    await rejects(await es256(current, { exp: now() - 60 }), /expired/);
    await rejects(await es256(current, { nbf: now() + 600 }), /not yet valid/);
    await rejects(await es256(current, { sub: "user:someone" }), /must be run tokens/);
    await rejects(await sign(rsa.privateKey, claims(tenant.project.id), { alg: "RS256" }), /algorithm/);
    const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims(tenant.project.id))}.`;
    await rejects(unsigned, /algorithm|malformed|invalid/);
    // a valid signature of the second key over other claims does not carry over
    const genuine = await es256(current);
    const [header, , signature] = genuine.split(".");
    await rejects(
      `${header}.${b64url(claims(tenant.project.id, { project_id: "00000000-0000-4000-8000-000000000000" }))}.${signature}`,
      /key this service does not know|signature/,
    );
  });
});

describe("a JWKS file whose keys of the same type carry no kid", () => {
  it("accepts a token signed by either key and refuses an unknown one", async () => {
    expect((await list(jwksServer, await es256(current))).status).toBe(200);
    expect((await list(jwksServer, await es256(previous))).status).toBe(200);
    const r = await list(jwksServer, await es256(stranger));
    expect(r.status).toBe(401);
    expect(r.body.message).toMatch(/signed by a key this service does not know/);
  });
});
