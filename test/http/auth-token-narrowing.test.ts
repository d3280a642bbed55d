import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import { describe, expect } from "vitest";
import type { AppRouter } from "../../server/router.js";
import { bearer, decodePart, send } from "../support/auth.js";
import { test } from "../support/fixtures.js";

// SPEC §2: "A token used to create another token can only give it less: never a later expiry, never a
// wider scope" (issue 11, defect 12), on POST /tokens, tokens.create, and run tokens minted by API.

const HOUR = 3600;

const it = test
  /** A write token of `role`'s user that expires in `seconds`: its authorization header and its expiry (s). */
  .extend(
    "expiring",
    { scope: "file" },
    ({ server, tenant }) =>
      async (role: "owner" | "editor", seconds: number, scope: "read" | "write" = "write") => {
        const t = await server.services.auth.createUserToken({
          userId: tenant.users[role].id,
          label: "expiring",
          scope,
          expiresInSeconds: seconds,
        });
        return { authorization: bearer(t.token), exp: decodePart(t.token, 1).exp as number };
      },
  )
  .extend(
    "trpc",
    { scope: "file" },
    ({ server }) =>
      (authorization: string) =>
        createTRPCClient<AppRouter>({
          links: [httpLink({ url: `${server.url}/trpc`, headers: () => ({ authorization }) })],
        }),
  )
  /** Mints a run token of the tenant's project through the REST API. */
  .extend(
    "mint",
    { scope: "file" },
    ({ server, tenant }) =>
      (authorization: string, body: object = {}) =>
        send(server, authorization, "POST", `/projects/${tenant.project.id}/run-tokens`, body),
  );
it.override({ serverEnv: { RUN_TOKEN_TTL_SECONDS: "900", RUN_TOKEN_MAX_TTL_SECONDS: "7200" } });

describe("POST /tokens from an expiring token", () => {
  it("gives the new token the caller's expiry when none is asked for", async ({ server, expiring }) => {
    const caller = await expiring("editor", HOUR);
    const r = await send(server, caller.authorization, "POST", "/tokens", { label: "child" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.expires_at).not.toBeNull();
    expect(Date.parse(r.body.expires_at)).toBe(caller.exp * 1000);
    expect(decodePart(r.body.token, 1).exp).toBe(caller.exp);
    // the child works
    expect((await send(server, bearer(r.body.token), "GET", "/tokens")).status).toBe(200);
  });

  it("refuses (400, naming expires_in) a lifetime that ends after the caller's token", async ({
    server,
    expiring,
  }) => {
    const caller = await expiring("editor", HOUR);
    const r = await send(server, caller.authorization, "POST", "/tokens", { expires_in: 2 * HOUR });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.code).toBe("BAD_REQUEST");
    expect(r.body.message).toContain("expires_in");
    // issues, where the REST surface carries them (trpc-to-openapi 3.3 drops them: issue 11, defect 15)
    if (r.body.issues) expect(r.body.issues[0].path).toBe("expires_in");
    // nothing was created
    const listed = await send(server, caller.authorization, "GET", "/tokens");
    expect(
      listed.body.results.filter(
        (t: { expires_at: string | null }) => t.expires_at && Date.parse(t.expires_at) > caller.exp * 1000,
      ),
    ).toEqual([]);
  });

  it("accepts a shorter lifetime", async ({ server, expiring }) => {
    const caller = await expiring("editor", HOUR);
    const r = await send(server, caller.authorization, "POST", "/tokens", { expires_in: 600 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const claims = decodePart(r.body.token, 1);
    expect(claims.exp - claims.iat).toBe(600);
    expect(claims.exp).toBeLessThanOrEqual(caller.exp);
  });

  it("a token that never expires may still create one that never expires", async ({ server, tenant }) => {
    const r = await send(server, tenant.users.editor.headers.authorization!, "POST", "/tokens", {});
    expect(r.status).toBe(200);
    expect(r.body.expires_at).toBeNull();
    expect(decodePart(r.body.token, 1).exp).toBeUndefined();
  });

  it("a read-scoped token cannot create a token (so never a write-scoped one): 403 naming its scope", async ({
    server,
    expiring,
  }) => {
    const caller = await expiring("editor", HOUR, "read");
    for (const body of [{ scope: "write" }, { scope: "read" }, {}]) {
      const r = await send(server, caller.authorization, "POST", "/tokens", body);
      expect(r.status).toBe(403);
      expect(r.body.message).toMatch(/read scope/);
    }
  });
});

describe("tokens.create (tRPC) from an expiring token", () => {
  it("applies the same rules", async ({ expiring, trpc }) => {
    const caller = await expiring("editor", HOUR);
    const client = trpc(caller.authorization);
    const child = await client.tokens.create.mutate({ label: "trpc-child" });
    expect(child.expires_at).not.toBeNull();
    expect(Date.parse(child.expires_at!)).toBe(caller.exp * 1000);
    const refused = await client.tokens.create.mutate({ expires_in: 2 * HOUR }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect((refused as TRPCClientError<AppRouter>).data?.code).toBe("BAD_REQUEST");
    expect((refused as TRPCClientError<AppRouter>).message).toContain("expires_in");
  });
});

describe("run tokens minted through the API", () => {
  it("never outlive the caller's token: the default ttl is cut to it, a longer ttl is 400 naming ttl", async ({
    expiring,
    mint,
  }) => {
    const caller = await expiring("owner", 120); // RUN_TOKEN_TTL_SECONDS is 900
    const r = await mint(caller.authorization, { run_id: "short-caller" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(decodePart(r.body.token, 1).exp).toBe(caller.exp);
    expect(Date.parse(r.body.expires_at)).toBe(caller.exp * 1000);

    const long = await mint(caller.authorization, { ttl: 600 });
    expect(long.status, JSON.stringify(long.body)).toBe(400);
    expect(long.body.message).toContain("ttl");
    if (long.body.issues) expect(long.body.issues[0].path).toBe("ttl");

    const short = await mint(caller.authorization, { ttl: 60 });
    expect(short.status).toBe(200);
    const claims = decodePart(short.body.token, 1);
    expect(claims.exp - claims.iat).toBe(60);
  });

  it("from a token that does not expire: unchanged (default RUN_TOKEN_TTL_SECONDS)", async ({
    tenant,
    mint,
  }) => {
    const r = await mint(tenant.users.owner.headers.authorization!);
    const claims = decodePart(r.body.token, 1);
    expect(claims.exp - claims.iat).toBe(900);
  });

  it("run_tokens.create (tRPC) applies the same ceiling", async ({ tenant, expiring, trpc }) => {
    const caller = await expiring("owner", 120);
    const refused = await trpc(caller.authorization)
      .runTokens.create.mutate({ project_id: tenant.project.id, ttl: 600 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect((refused as TRPCClientError<AppRouter>).data?.code).toBe("BAD_REQUEST");
  });
});
