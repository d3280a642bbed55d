import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";

// Fixed documents (openapi.json, the /docs page and its assets) served with validators and compressed
// by Accept-Encoding (SPEC §8.1): each encoding is made once, on first demand, off the event loop, and
// kept for the life of the process.

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

export type Encoding = "br" | "gzip" | "identity";

/**
 * The encoding to send for an Accept-Encoding header: the one with the highest q among br and gzip
 * (br on a tie, `*` standing for both), identity when neither is acceptable or the header is absent.
 */
export function chooseEncoding(header: string | undefined): Encoding {
  if (!header) return "identity";
  const q: Record<string, number> = {};
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (!name) continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    q[name] = Number.isFinite(value) ? value : 0;
  }
  const of = (name: string) => q[name] ?? q["*"] ?? 0;
  const br = of("br");
  const gz = Math.max(of("gzip"), q["x-gzip"] ?? 0);
  if (br <= 0 && gz <= 0) return "identity";
  return br >= gz ? "br" : "gzip";
}

/** True when an If-None-Match header names `etag` (weak comparison, RFC 9110 §13.1.2). */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => bare(tag) === bare(etag));
}

export class StaticAsset {
  private readonly hash: string;
  /** Text is worth compressing; an image is compressed already. */
  private readonly compressible: boolean;
  private readonly encoded = new Map<Exclude<Encoding, "identity">, Promise<Buffer>>();

  constructor(
    private readonly body: Buffer,
    private readonly headers: Record<string, string>,
  ) {
    this.hash = createHash("sha256").update(body).digest("base64url").slice(0, 22);
    this.compressible = /^(text\/|application\/(json|javascript))/.test(headers["content-type"] ?? "");
  }

  private bytes(encoding: Encoding): Promise<Buffer> {
    if (encoding === "identity") return Promise.resolve(this.body);
    let made = this.encoded.get(encoding);
    if (!made) {
      made =
        encoding === "br"
          ? brotli(this.body, {
              params: {
                [constants.BROTLI_PARAM_QUALITY]: 11,
                [constants.BROTLI_PARAM_SIZE_HINT]: this.body.length,
              },
            })
          : gzipAsync(this.body, { level: 9 });
      this.encoded.set(encoding, made);
    }
    return made;
  }

  /** Answers GET or HEAD: 304 when the client has this representation, else 200 in the chosen encoding. */
  async send(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const encoding = this.compressible ? chooseEncoding(req.headers["accept-encoding"]) : "identity";
    const etag = `"${this.hash}${encoding === "identity" ? "" : `-${encoding}`}"`;
    const common: Record<string, string> = { ...this.headers, etag, vary: "Accept-Encoding" };
    if (matchesEtag(req.headers["if-none-match"], etag)) {
      res.writeHead(304, common);
      res.end();
      return;
    }
    const body = await this.bytes(encoding);
    res.writeHead(200, {
      ...common,
      ...(encoding === "identity" ? {} : { "content-encoding": encoding }),
      "content-length": String(body.length),
    });
    res.end(req.method === "HEAD" ? undefined : body);
  }
}
