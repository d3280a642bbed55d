import type { VerifiedToken } from "./verify.js";

/**
 * Our own tokens whose signature and claims have been verified, remembered until they expire: an ES256
 * verification costs more CPU than the rest of a point read. Only what the signed token itself says is
 * remembered; a user token's row (revocation, expiry, the user, memberships) is still read on every
 * request. Our own keys are fixed for the life of the process. Tokens of an external issuer are never
 * remembered, since its key set can change under us.
 */
export class VerifiedTokens {
  readonly #entries = new Map<string, { verified: VerifiedToken; untilMs: number }>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly maxAgeMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(token: string): VerifiedToken | undefined {
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    if (this.now() >= entry.untilMs) {
      this.#entries.delete(token);
      return undefined;
    }
    return entry.verified;
  }

  /** `expiresAtMs`: when verification would start to fail (exp plus the clock tolerance), if ever. */
  remember(token: string, verified: VerifiedToken, expiresAtMs: number | undefined): void {
    const untilMs = Math.min(this.now() + this.maxAgeMs, expiresAtMs ?? Infinity);
    if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!); // the oldest
    this.#entries.set(token, { verified, untilMs });
  }

  get size(): number {
    return this.#entries.size;
  }
}
