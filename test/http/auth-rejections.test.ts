import { randomUUID } from "node:crypto";
import { describe, expect } from "vitest";
import { setUserDisabled } from "../../server/services/directory.js";
import { b64url, bearer, decodePart, keyPair, send, sign, type TestKeyPair } from "../support/auth.js";
import { test } from "../support/fixtures.js";

// SPEC §2: everything a bearer token can get wrong is 401, through the REST and tRPC surfaces.

const ISSUER = "collections-service";
const AUDIENCE = "collections";
const key: TestKeyPair = keyPair("ec");

const now = () => Math.floor(Date.now() / 1000);

const it = test
  /** A fresh user token of the viewer, and claims that make a valid token for it when signed with our key. */
  .extend("viewerToken", { scope: "file" }, ({ server, tenant }) => async () => {
    const t = await server.services.auth.createUserToken({ userId: tenant.users.viewer.id });
    const claims = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: `user:${tenant.users.viewer.id}`,
      jti: t.id,
      scope: "write",
    };
    return { ...t, claims };
  })
  .extend(
    "expect401",
    { scope: "file" },
    ({ server }) =>
      async (authorization: string | undefined, message?: RegExp) => {
        const r = await send(server, authorization, "GET", "/tokens");
        expect(r.status, JSON.stringify(r.body)).toBe(401);
        expect(r.body.code).toBe("UNAUTHORIZED");
        if (message) expect(r.body.message).toMatch(message);
      },
  );
it.override({ serverEnv: { JWT_SIGNING_KEY: key.privatePem } });

describe("401 on the REST surface", () => {
  it("accepts a token made the way the rejected ones are made (the control for the cases below)", async ({
    server,
    viewerToken,
  }) => {
    const { claims } = await viewerToken();
    const token = await sign(key.privateKey, claims, { alg: "ES256" });
    expect((await send(server, bearer(token), "GET", "/tokens")).status).toBe(200);
  });

  it("no Authorization header", ({ expect401 }) => expect401(undefined, /Missing Authorization header/));

  it("a scheme other than Bearer", async ({ viewerToken, expect401 }) => {
    const { token } = await viewerToken();
    await expect401(`Basic ${Buffer.from("a:b").toString("base64")}`, /Bearer/);
    await expect401(`Token ${token}`, /Bearer/);
    await expect401(token, /Bearer/);
  });

  it("garbage", async ({ expect401 }) => {
    await expect401("Bearer", /Bearer/);
    await expect401("Bearer not-a-jwt", /not a JWT/);
    await expect401("Bearer a.b.c", /not a JWT|malformed/i);
    await expect401(`Bearer ${b64url({ alg: "ES256" })}.${b64url("{not json")}.abc`);
  });

  it("a tampered payload", async ({ tenant, viewerToken, expect401 }) => {
    const { token } = await viewerToken();
    const [h, , s] = token.split(".");
    const payload = { ...decodePart(token, 1), sub: `user:${tenant.users.owner.id}` };
    await expect401(`Bearer ${h}.${b64url(payload)}.${s}`, /signature/);
  });

  it("a tampered signature", async ({ viewerToken, expect401 }) => {
    const { token } = await viewerToken();
    const [h, p, s] = token.split(".");
    const i = 10;
    const flipped = s!.slice(0, i) + (s![i] === "A" ? "B" : "A") + s!.slice(i + 1);
    await expect401(`Bearer ${h}.${p}.${flipped}`, /signature/);
  });

  it("alg: none", async ({ viewerToken, expect401 }) => {
    const { claims } = await viewerToken();
    await expect401(
      `Bearer ${b64url({ alg: "none", typ: "JWT" })}.${b64url({ ...claims, iat: now() })}.`,
      /algorithm/,
    );
  });

  it("an HS256 token whose secret is the service's public key", async ({ viewerToken, expect401 }) => {
    const { claims } = await viewerToken();
    for (const secret of [key.publicPem, key.publicKey.export({ format: "der", type: "spki" })]) {
      const token = await sign(new Uint8Array(Buffer.from(secret)), claims, { alg: "HS256" });
      await expect401(bearer(token), /algorithm/);
    }
  });

  it("a wrong issuer or audience", async ({ viewerToken, expect401 }) => {
    const { claims } = await viewerToken();
    await expect401(bearer(await sign(key.privateKey, { ...claims, iss: "someone-else" })), /issuer/);
    await expect401(bearer(await sign(key.privateKey, { ...claims, iss: undefined })), /issuer/);
    await expect401(bearer(await sign(key.privateKey, { ...claims, aud: "other-service" })), /audience/);
    await expect401(bearer(await sign(key.privateKey, { ...claims, aud: undefined })), /aud/);
  });

  it("an expired token, by its exp and by its row", async ({ server, tenant, viewerToken, expect401 }) => {
    const { claims } = await viewerToken();
    await expect401(
      bearer(await sign(key.privateKey, { ...claims, iat: now() - 3600, exp: now() - 60 })),
      /expired/,
    );
    // exp is whole seconds from the current second: created at the start of a second, the 2-second token
    // surely outlives its first request, even on a loaded machine.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
    const t = await server.services.auth.createUserToken({
      userId: tenant.users.viewer.id,
      expiresInSeconds: 2,
    });
    expect((await send(server, bearer(t.token), "GET", "/tokens")).status).toBe(200);
    await new Promise((r) => setTimeout(r, t.expiresAt!.getTime() - Date.now() + 100));
    await expect401(bearer(t.token), /expired/);
  });

  it("a token that is not yet valid", async ({ viewerToken, expect401 }) => {
    const { claims } = await viewerToken();
    await expect401(bearer(await sign(key.privateKey, { ...claims, nbf: now() + 3600 })), /not yet valid/);
  });

  it("a revoked token, from the very next request", async ({ server, tenant, viewerToken, expect401 }) => {
    const { id, token } = await viewerToken();
    expect((await send(server, bearer(token), "GET", "/tokens")).status).toBe(200);
    const revoke = await send(server, tenant.users.viewer.headers.authorization!, "DELETE", `/tokens/${id}`);
    expect(revoke.status, JSON.stringify(revoke.body)).toBe(200);
    await expect401(bearer(token), /revoked/);
  });

  it("a token whose row does not exist (a forged jti)", async ({ viewerToken, expect401 }) => {
    const { claims } = await viewerToken();
    await expect401(
      bearer(await sign(key.privateKey, { ...claims, jti: randomUUID() })),
      /revoked or no longer exists/,
    );
  });

  it("a token of a disabled user, until the user is enabled again", async ({
    server,
    tenant,
    viewerToken,
    expect401,
  }) => {
    const { token } = await viewerToken();
    await setUserDisabled(server.services.db.prisma, tenant.users.viewer.email, true);
    try {
      await expect401(bearer(token), /disabled/);
    } finally {
      await setUserDisabled(server.services.db.prisma, tenant.users.viewer.email, false);
    }
    expect((await send(server, bearer(token), "GET", "/tokens")).status).toBe(200);
  });

  it("a run token signed by a key the service does not know", async ({ server, tenant, expect401 }) => {
    const stranger = keyPair("ec");
    const claims = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: "run:r1",
      project_id: tenant.project.id,
      exp: now() + 600,
    };
    await expect401(bearer(await sign(stranger.privateKey, claims)), /signature|key/);
    await expect401(
      bearer(await sign(stranger.privateKey, claims, { alg: "ES256", kid: "unknown-kid" })),
      /key this service does not know/,
    );
    // control: the same claims signed with the service's key are accepted (a run token may not list user tokens: 403)
    expect((await send(server, bearer(await sign(key.privateKey, claims)), "GET", "/tokens")).status).toBe(
      403,
    );
  });

  it("a run token without an expiry or a project", async ({ tenant, expect401 }) => {
    const claims = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: "run:r1",
      project_id: tenant.project.id,
      exp: now() + 600,
    };
    await expect401(bearer(await sign(key.privateKey, { ...claims, exp: undefined })), /expiry/);
    await expect401(bearer(await sign(key.privateKey, { ...claims, project_id: "nope" })), /project_id/);
  });
});

describe("401 on the tRPC surface", () => {
  it("answers 401 UNAUTHORIZED for a missing or bad token and 200 for a good one", async ({
    server,
    viewerToken,
  }) => {
    const query = (authorization?: string) =>
      fetch(`${server.url}/trpc/tokens.list?input=${encodeURIComponent("{}")}`, {
        headers: authorization ? { authorization } : {},
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const missing = await query();
    expect(missing.status).toBe(401);
    expect(missing.body.error.data.code).toBe("UNAUTHORIZED");
    const { token } = await viewerToken();
    const [h, p, s] = token.split(".");
    expect(
      (await query(`Bearer ${h}.${p}.${s!.slice(0, 10)}${s![10] === "A" ? "B" : "A"}${s!.slice(11)}`)).status,
    ).toBe(401);
    expect((await query(bearer(token))).status).toBe(200);
  });
});
