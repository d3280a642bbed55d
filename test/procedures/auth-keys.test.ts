import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicKey, randomUUID } from "node:crypto";
import { exportJWK } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAuth } from "../../server/auth/index.js";
import { loadExternalIssuer } from "../../server/auth/external.js";
import { loadOwnKeys } from "../../server/auth/keys.js";
import { VerifiedTokens } from "../../server/auth/verified-tokens.js";
import { verifyToken } from "../../server/auth/verify.js";
import type { AuthService } from "../../server/context.js";
import type { Database } from "../../server/db.js";
import { ConfigError } from "../../server/env.js";
import { createLogger } from "../../server/log.js";
import { bearer, decodePart, keyPair, sign } from "../support/auth.js";
import { testEnv } from "../support/env.js";
import { freshDatabase, type FreshDatabase } from "../support/fresh-database.js";
import { createTestServices, type TestServices } from "../support/services.js";

// Key configuration (server/auth/keys.ts, stored-key.ts, external.ts): checked at boot, the key stored
// in the database for several instances, rotation, external issuers.

let services: TestServices;
let dir: string;
beforeAll(async () => {
  services = await createTestServices();
  dir = mkdtempSync(join(tmpdir(), "auth-keys-"));
});
afterAll(async () => {
  await services?.close();
  rmSync(dir, { recursive: true, force: true });
});

const auth = (overrides: Record<string, string | undefined>) =>
  createAuth(testEnv({ DATA_DIR: dir, ...overrides }), services.db);
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const now = () => Math.floor(Date.now() / 1000);
const projectId = randomUUID();
const principalOf = (a: AuthService, token: string) => a.authenticate(bearer(token));

describe("boot checks", () => {
  const ec = keyPair("ec");
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      "a malformed PEM",
      { JWT_SIGNING_KEY: "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----" },
      /JWT_SIGNING_KEY is not a valid PEM private key/,
    ],
    ["text that is no PEM", { JWT_SIGNING_KEY: "secret" }, /JWT_SIGNING_KEY does not contain a PEM key/],
    [
      "an RSA key for ES256",
      { JWT_SIGNING_KEY: keyPair("rsa").privatePem },
      /JWT_SIGNING_KEY is an rsa key; .*ES256/,
    ],
    ["an Ed25519 key for ES256", { JWT_SIGNING_KEY: keyPair("ed25519").privatePem }, /ed25519 key/],
    ["a public key as signing key", { JWT_SIGNING_KEY: ec.publicPem }, /not a valid PEM private key/],
    [
      "an unreadable key file",
      { JWT_SIGNING_KEY_FILE: "/nonexistent/key.pem" },
      /JWT_SIGNING_KEY_FILE: cannot read \/nonexistent\/key.pem \(ENOENT\)/,
    ],
    [
      "a key both inline and in a file",
      { JWT_SIGNING_KEY: ec.privatePem, JWT_SIGNING_KEY_FILE: "/x" },
      /JWT_SIGNING_KEY or JWT_SIGNING_KEY_FILE, not both/,
    ],
    [
      "a verification key of the wrong type",
      { JWT_SIGNING_KEY: ec.privatePem, JWT_VERIFY_KEYS: keyPair("rsa").publicPem },
      /JWT_VERIFY_KEYS: key #1 is an rsa key/,
    ],
    ["an external issuer without a key", { EXTERNAL_RUN_TOKEN_ISSUER: "lightning" }, /no key is: set one of/],
    [
      "an external key without an issuer",
      { EXTERNAL_RUN_TOKEN_PUBLIC_KEY: ec.publicPem },
      /EXTERNAL_RUN_TOKEN_ISSUER is not/,
    ],
    [
      "two external key sources",
      {
        EXTERNAL_RUN_TOKEN_ISSUER: "lightning",
        EXTERNAL_RUN_TOKEN_PUBLIC_KEY: ec.publicPem,
        EXTERNAL_RUN_TOKEN_JWKS_URL: "https://example.org/jwks",
      },
      /Set only one of/,
    ],
    [
      "an external issuer equal to ours",
      { EXTERNAL_RUN_TOKEN_ISSUER: "collections-service", EXTERNAL_RUN_TOKEN_PUBLIC_KEY: ec.publicPem },
      /must differ from JWT_ISSUER/,
    ],
    [
      "an external key no allowed algorithm can use",
      {
        EXTERNAL_RUN_TOKEN_ISSUER: "lightning",
        EXTERNAL_RUN_TOKEN_ALGORITHMS: "RS256",
        EXTERNAL_RUN_TOKEN_PUBLIC_KEY: ec.publicPem,
      },
      /ec P-256 key, which none of EXTERNAL_RUN_TOKEN_ALGORITHMS \(RS256\)/,
    ],
  ];
  for (const [what, overrides, message] of cases) {
    it(`refuses ${what}`, async () => {
      await expect(auth(overrides)).rejects.toThrow(message);
    });
  }

  it("refuses a JWKS file that is not JSON, not a key set, or holds a symmetric key", async () => {
    const base = { EXTERNAL_RUN_TOKEN_ISSUER: "lightning" };
    await expect(auth({ ...base, EXTERNAL_RUN_TOKEN_JWKS_FILE: file("bad.json", "{") })).rejects.toThrow(
      /is not JSON/,
    );
    await expect(
      auth({ ...base, EXTERNAL_RUN_TOKEN_JWKS_FILE: file("empty.json", '{"keys":[]}') }),
    ).rejects.toThrow(/not a JWKS document/);
    await expect(
      auth({
        ...base,
        EXTERNAL_RUN_TOKEN_JWKS_FILE: file("oct.json", '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}'),
      }),
    ).rejects.toThrow(/symmetric key/);
  });

  it("refuses HMAC algorithms and plain-http JWKS URLs in the configuration", () => {
    expect(() => testEnv({ EXTERNAL_RUN_TOKEN_ALGORITHMS: "RS256,HS256" })).toThrow(ConfigError);
    expect(() => testEnv({ EXTERNAL_RUN_TOKEN_JWKS_URL: "http://example.org/jwks" })).toThrow(/https/);
    expect(
      testEnv({ EXTERNAL_RUN_TOKEN_JWKS_URL: "http://127.0.0.1:9/jwks" }).EXTERNAL_RUN_TOKEN_JWKS_URL,
    ).toBeDefined();
  });

  it("reads keys from files and accepts '\\n' escapes inline", async () => {
    const a = await auth({ JWT_SIGNING_KEY_FILE: file("signing.pem", ec.privatePem) });
    const b = await auth({ JWT_SIGNING_KEY: ec.privatePem.replace(/\n/g, "\\n") });
    const { token } = await a.createRunToken({ projectId });
    expect(await principalOf(b, token)).toMatchObject({ kind: "run", projectId });
  });
});

describe("the stored key (no JWT_SIGNING_KEY configured)", () => {
  // Each test starts from a database of its own with no key in it (a new database on the PostgreSQL server).
  let fresh: FreshDatabase;
  beforeEach(async () => {
    fresh = await freshDatabase();
  });
  afterEach(async () => {
    await fresh?.drop();
  });
  /** Configuration of one instance on the fresh database: a DATA_DIR of its own, no signing key. */
  const instanceEnv = (overrides: Record<string, string | undefined> = {}) =>
    testEnv({
      ...fresh.storage,
      DATA_DIR: mkdtempSync(join(dir, "instance-")),
      JWT_SIGNING_KEY: undefined,
      ...overrides,
    });
  /** One Database per instance on the PostgreSQL server (its own pool); the embedded one is shared. */
  let embedded: Promise<Database> | undefined;
  const instanceDb = () => (fresh.storage.DATABASE_URL ? fresh.open() : (embedded ??= fresh.open()));
  beforeEach(() => {
    embedded = undefined;
  });
  const storedRows = async (db: Database) =>
    db.prisma.signingKey.findMany({ select: { id: true, privateKey: true } });
  const capture = () => {
    const lines: { level: string; msg: string; [k: string]: unknown }[] = [];
    return { lines, log: createLogger("debug", (line) => void lines.push(JSON.parse(line))) };
  };

  it("is created once by instances starting at the same moment, and every one of them uses it", async () => {
    const dbs = await Promise.all(Array.from({ length: 6 }, instanceDb));
    const envs = dbs.map(() => instanceEnv());
    const keys = await Promise.all(dbs.map((db, i) => loadOwnKeys(envs[i]!, db.prisma)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(keys.map((k) => k.source)).toEqual(Array(6).fill("stored"));
    expect(keys.filter((k) => k.stored?.origin === "generated")).toHaveLength(1);
    expect(await storedRows(dbs[0]!)).toEqual([
      { id: 1, privateKey: expect.stringMatching(/^-----BEGIN PRIVATE KEY-----/) },
    ]);

    // Two auth services created concurrently: a token minted by either is accepted by the other.
    const [a, b] = await Promise.all([
      createAuth(instanceEnv(), dbs[1]!),
      createAuth(instanceEnv(), dbs[2]!),
    ]);
    const fromA = await a!.createRunToken({ projectId, runId: "on-a" });
    const fromB = await b!.createRunToken({ projectId, runId: "on-b" });
    expect(await principalOf(b!, fromA.token)).toMatchObject({ kind: "run", runId: "on-a", projectId });
    expect(await principalOf(a!, fromB.token)).toMatchObject({ kind: "run", runId: "on-b", projectId });
    expect(decodePart(fromA.token, 0).kid).toBe(keys[0]!.kid);
    // Nothing is written under DATA_DIR any more.
    for (const env of envs) expect(readdirSync(env.DATA_DIR)).toEqual([]);
    // ... and a later start finds it.
    const later = await loadOwnKeys(instanceEnv(), (await instanceDb()).prisma);
    expect(later).toMatchObject({ kid: keys[0]!.kid, stored: { origin: "existing" } });
  });

  it("is announced at boot on a PostgreSQL server with why production should configure JWT_SIGNING_KEY", async () => {
    const { lines, log } = capture();
    await createAuth(instanceEnv(), await instanceDb(), log);
    const warnings = lines.filter((l) => l.level === "warn");
    if (fresh.storage.DATABASE_URL) {
      expect(warnings).toEqual([
        expect.objectContaining({
          msg: expect.stringMatching(
            /No JWT_SIGNING_KEY configured.*stored in the database.*every instance.*Whoever can read that table can sign tokens.*production/,
          ),
        }),
      ]);
    } else {
      expect(warnings).toEqual([]); // embedded: one process, the key lives in DATA_DIR's database as before in its file
    }
  });

  it("gives way to a configured JWT_SIGNING_KEY, which stores nothing", async () => {
    const configured = keyPair("ec");
    const db = await instanceDb();
    const withKey = await createAuth(instanceEnv({ JWT_SIGNING_KEY: configured.privatePem }), db);
    expect(await storedRows(db)).toEqual([]);
    const token = (await withKey.createRunToken({ projectId })).token;
    const { kid } = await loadOwnKeys(instanceEnv({ JWT_SIGNING_KEY: configured.privatePem }), db.prisma);
    expect(decodePart(token, 0).kid).toBe(kid);
  });

  it("once stored, a configured JWT_SIGNING_KEY still wins: the stored key's tokens are refused unless JWT_VERIFY_KEYS holds its public key", async () => {
    const db = await instanceDb();
    const stored = await createAuth(instanceEnv(), db);
    const oldToken = (await stored.createRunToken({ projectId, runId: "old" })).token;
    const [row] = await storedRows(db);
    const configured = keyPair("ec");

    const { lines, log } = capture();
    const switched = await createAuth(instanceEnv({ JWT_SIGNING_KEY: configured.privatePem }), db, log);
    const newToken = (await switched.createRunToken({ projectId, runId: "new" })).token;
    expect(decodePart(newToken, 0).kid).not.toBe(decodePart(oldToken, 0).kid);
    expect(await principalOf(switched, newToken)).toMatchObject({ runId: "new" });
    await expect(principalOf(switched, oldToken)).rejects.toMatchObject({
      code: "UNAUTHORIZED",
      message: expect.stringMatching(/key this service does not know/),
    });
    await expect(principalOf(stored, newToken)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    expect(lines.filter((l) => l.level === "warn")).toEqual([
      expect.objectContaining({
        msg: expect.stringMatching(
          /JWT_SIGNING_KEY is configured, so tokens signed with the key stored in the database .* are refused.*JWT_VERIFY_KEYS/,
        ),
        stored_kid: decodePart(oldToken, 0).kid,
      }),
    ]);

    // The documented transition: the stored key's public half in JWT_VERIFY_KEYS keeps its tokens valid.
    const publicPem = createPublicKey(row!.privateKey).export({ format: "pem", type: "spki" }) as string;
    const during = capture();
    const transition = await createAuth(
      instanceEnv({ JWT_SIGNING_KEY: configured.privatePem, JWT_VERIFY_KEYS: publicPem }),
      db,
      during.log,
    );
    expect(await principalOf(transition, oldToken)).toMatchObject({ runId: "old" });
    expect(await principalOf(transition, newToken)).toMatchObject({ runId: "new" });
    expect(during.lines.filter((l) => l.level === "warn")).toEqual([
      expect.objectContaining({ msg: expect.stringMatching(/still accepted.*DELETE FROM signing_keys/) }),
    ]);

    // Or: configure the stored key itself, so that nothing changes for its tokens.
    const same = capture();
    const exported = await createAuth(instanceEnv({ JWT_SIGNING_KEY: row!.privateKey }), db, same.log);
    expect(await principalOf(exported, oldToken)).toMatchObject({ runId: "old" });
    expect(same.lines.filter((l) => l.level === "warn")).toEqual([
      expect.objectContaining({
        msg: expect.stringMatching(/is the key also stored in the database.*DELETE FROM signing_keys/),
      }),
    ]);
  });

  it("is imported from the key file an earlier version generated under DATA_DIR, so that its tokens stay valid", async () => {
    const legacy = keyPair("ec");
    const before = await auth({ JWT_SIGNING_KEY: legacy.privatePem }); // what the earlier version signed with
    const oldToken = (await before.createRunToken({ projectId, runId: "minted-before-the-upgrade" })).token;
    const env = instanceEnv();
    writeFileSync(join(env.DATA_DIR, "jwt-signing-key.pem"), legacy.privatePem, { mode: 0o600 });
    const db = await instanceDb();

    const { lines, log } = capture();
    const upgraded = await createAuth(env, db, log);
    expect(await principalOf(upgraded, oldToken)).toMatchObject({ runId: "minted-before-the-upgrade" });
    expect((await storedRows(db))[0]!.privateKey).toBe(legacy.privatePem);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "info",
        msg: expect.stringMatching(/Imported the signing key file/),
        key_file: join(env.DATA_DIR, "jwt-signing-key.pem"),
      }),
    );

    // Another instance with another key file of its own: the stored key is used, the file named as ignored.
    const other = keyPair("ec");
    const otherToken = await (
      await auth({ JWT_SIGNING_KEY: other.privatePem })
    ).createRunToken({ projectId });
    const otherEnv = instanceEnv();
    writeFileSync(join(otherEnv.DATA_DIR, "jwt-signing-key.pem"), other.privatePem);
    const second = capture();
    const b = await createAuth(otherEnv, await instanceDb(), second.log);
    expect(await principalOf(b, oldToken)).toMatchObject({ runId: "minted-before-the-upgrade" });
    await expect(principalOf(b, otherToken.token)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    expect(second.lines).toContainEqual(
      expect.objectContaining({
        level: "warn",
        msg: expect.stringMatching(
          /jwt-signing-key.pem is not the signing key stored in the database and is not used/,
        ),
      }),
    );
  });

  it("is checked at boot: a broken key file or stored key stops the boot naming it; a bad setting stores nothing", async () => {
    const db = await instanceDb();
    await expect(createAuth(instanceEnv({ JWT_VERIFY_KEYS: keyPair("rsa").publicPem }), db)).rejects.toThrow(
      /JWT_VERIFY_KEYS: key #1 is an rsa key/,
    );
    await expect(createAuth(instanceEnv({ EXTERNAL_RUN_TOKEN_ISSUER: "lightning" }), db)).rejects.toThrow(
      /no key is/,
    );
    expect(await storedRows(db)).toEqual([]);

    const env = instanceEnv();
    writeFileSync(join(env.DATA_DIR, "jwt-signing-key.pem"), keyPair("rsa").privatePem);
    await expect(createAuth(env, db)).rejects.toThrow(
      /jwt-signing-key.pem is an rsa key.*Delete .*jwt-signing-key.pem to have a new key generated/,
    );
    expect(await storedRows(db)).toEqual([]);

    await db.prisma.signingKey.create({
      data: { id: 1, privateKey: "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----" },
    });
    await expect(createAuth(instanceEnv(), db)).rejects.toThrow(
      /the signing key stored in the database \(table signing_keys\) is not a valid PEM private key.*DELETE FROM signing_keys/,
    );
    // One row only: the table refuses a second key.
    await expect(
      db.prisma.signingKey.create({ data: { id: 2, privateKey: keyPair("ec").privatePem } }),
    ).rejects.toThrow(/signing_keys_one_row|check constraint/i);
  });
});

describe("rotation of the service's own keys", () => {
  it("accepts tokens of a retired key while it is in JWT_VERIFY_KEYS, and refuses them once it is removed", async () => {
    const oldKey = keyPair("ec");
    const newKey = keyPair("ec");
    const before = await auth({ JWT_SIGNING_KEY: oldKey.privatePem });
    const { token } = await before.createRunToken({ projectId, runId: "r-old" });

    const during = await auth({ JWT_SIGNING_KEY: newKey.privatePem, JWT_VERIFY_KEYS: oldKey.publicPem });
    expect(await principalOf(during, token)).toMatchObject({ kind: "run", runId: "r-old", projectId });
    const fresh = await during.createRunToken({ projectId, runId: "r-new" });
    expect(decodePart(fresh.token, 0).kid).not.toBe(decodePart(token, 0).kid);

    const after = await auth({ JWT_SIGNING_KEY: newKey.privatePem });
    await expect(principalOf(after, token)).rejects.toMatchObject({
      code: "UNAUTHORIZED",
      message: expect.stringMatching(/key this service does not know/),
    });
    expect(await principalOf(after, fresh.token)).toMatchObject({ runId: "r-new" });
  });
});

describe("run tokens of an external issuer", () => {
  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: "lightning",
    aud: "collections",
    sub: "run:ext-1",
    project_id: projectId,
    exp: now() + 300,
    ...extra,
  });

  it("accepts RS256 tokens verified with a configured PEM, and refuses them once the key is replaced", async () => {
    const orchestrator = keyPair("rsa");
    const token = await sign(orchestrator.privateKey, claims(), { alg: "RS256", kid: "lightning-key-1" });
    const a = await auth({
      EXTERNAL_RUN_TOKEN_ISSUER: "lightning",
      EXTERNAL_RUN_TOKEN_PUBLIC_KEY: orchestrator.publicPem,
    });
    expect(await principalOf(a, token)).toEqual({ kind: "run", runId: "ext-1", projectId, scope: "write" });
    // pinned: its algorithms, its audience, run tokens only, an expiry
    await expect(
      principalOf(a, await sign(orchestrator.privateKey, claims({ aud: "elsewhere" }), { alg: "RS256" })),
    ).rejects.toThrow(/audience/);
    await expect(
      principalOf(a, await sign(orchestrator.privateKey, claims({ sub: "user:x" }), { alg: "RS256" })),
    ).rejects.toThrow(/must be run tokens/);
    await expect(
      principalOf(a, await sign(orchestrator.privateKey, claims({ exp: undefined }), { alg: "RS256" })),
    ).rejects.toThrow(/exp/);
    await expect(
      principalOf(a, await sign(orchestrator.privateKey, claims(), { alg: "PS256" })),
    ).rejects.toThrow(/algorithm/);

    const b = await auth({
      EXTERNAL_RUN_TOKEN_ISSUER: "lightning",
      EXTERNAL_RUN_TOKEN_PUBLIC_KEY: keyPair("rsa").publicPem,
    });
    await expect(principalOf(b, token)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    const none = await auth({});
    await expect(principalOf(none, token)).rejects.toThrow(/issuer/);
  });

  it("selects the key by kid in a JWKS file, and refuses a kid that was removed", async () => {
    const k1 = keyPair("ec");
    const k2 = keyPair("rsa");
    const jwks = {
      keys: [
        { ...(await exportJWK(k1.publicKey)), kid: "k1", alg: "ES256" },
        { ...(await exportJWK(k2.publicKey)), kid: "k2" },
      ],
    };
    const t1 = await sign(k1.privateKey, claims(), { alg: "ES256", kid: "k1" });
    const t2 = await sign(k2.privateKey, claims({ sub: "run:ext-2" }), { alg: "RS256", kid: "k2" });
    const both = await auth({
      EXTERNAL_RUN_TOKEN_ISSUER: "lightning",
      EXTERNAL_RUN_TOKEN_JWKS_FILE: file("jwks.json", JSON.stringify(jwks)),
    });
    expect(await principalOf(both, t1)).toMatchObject({ runId: "ext-1" });
    expect(await principalOf(both, t2)).toMatchObject({ runId: "ext-2" });
    // k1's signature under k2's kid does not pass
    await expect(
      principalOf(both, await sign(k1.privateKey, claims(), { alg: "ES256", kid: "k2" })),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED" });

    const onlyK2 = await auth({
      EXTERNAL_RUN_TOKEN_ISSUER: "lightning",
      EXTERNAL_RUN_TOKEN_JWKS_FILE: file("jwks2.json", JSON.stringify({ keys: [jwks.keys[1]] })),
    });
    await expect(principalOf(onlyK2, t1)).rejects.toThrow(/key this service does not know/);
    expect(await principalOf(onlyK2, t2)).toMatchObject({ runId: "ext-2" });
  });

  it("fetches a JWKS from a URL; 503 when it cannot be fetched", async () => {
    const k = keyPair("ec");
    const jwks = { keys: [{ ...(await exportJWK(k.publicKey)), kid: "remote-1", alg: "ES256" }] };
    let served = 0;
    const jwksServer: Server = createServer((_req, res) => {
      served++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((r) => jwksServer.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
    try {
      const a = await auth({ EXTERNAL_RUN_TOKEN_ISSUER: "lightning", EXTERNAL_RUN_TOKEN_JWKS_URL: url });
      const token = await sign(k.privateKey, claims(), { alg: "ES256", kid: "remote-1" });
      expect(await principalOf(a, token)).toMatchObject({ kind: "run", projectId });
      expect(served).toBe(1);
    } finally {
      await new Promise((r) => jwksServer.close(r));
    }
    const down = await auth({ EXTERNAL_RUN_TOKEN_ISSUER: "lightning", EXTERNAL_RUN_TOKEN_JWKS_URL: url });
    const token = await sign(k.privateKey, claims(), { alg: "ES256", kid: "remote-1" });
    await expect(principalOf(down, token)).rejects.toMatchObject({ code: "SERVICE_UNAVAILABLE" });
  });
});

describe("verified tokens", () => {
  it("remembers our own tokens once verified, never an external issuer's", async () => {
    const orchestrator = keyPair("rsa");
    const env = testEnv({
      DATA_DIR: dir,
      EXTERNAL_RUN_TOKEN_ISSUER: "lightning",
      EXTERNAL_RUN_TOKEN_PUBLIC_KEY: orchestrator.publicPem,
    });
    const keys = await loadOwnKeys(env, services.db.prisma);
    const verified = new VerifiedTokens();
    const config = {
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      clockTolerance: 0,
      ownKeys: keys.verificationKeys,
      external: loadExternalIssuer(env),
      verified,
    };
    const a = await createAuth(env, services.db);
    const own = (await a.createRunToken({ projectId })).token;
    const external = await sign(
      orchestrator.privateKey,
      { iss: "lightning", aud: "collections", sub: "run:ext-2", project_id: projectId, exp: now() + 300 },
      { alg: "RS256" },
    );

    expect(await verifyToken(own, config)).toEqual({ kind: "run", runId: expect.any(String), projectId });
    expect(verified.get(own)).toEqual({ kind: "run", runId: expect.any(String), projectId });
    expect(await verifyToken(external, config)).toEqual({ kind: "run", runId: "ext-2", projectId });
    expect(verified.get(external)).toBeUndefined();
    expect(verified.size).toBe(1);
    // A token that fails verification is not remembered either.
    await expect(
      verifyToken(own.slice(0, -2) + (own.endsWith("AA") ? "BB" : "AA"), config),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    expect(verified.size).toBe(1);
  });
});
