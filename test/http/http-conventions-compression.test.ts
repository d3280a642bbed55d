import { request } from "node:http";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";

// SPEC §8.1: /docs assets and /openapi.json are served compressed when the client accepts it.

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET with exactly these headers, the body as the bytes on the wire (fetch would decode it). */
function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
}

describe("compressed documents (SPEC §8.1)", () => {
  test.for(["/openapi.json", "/docs", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/init.js"])(
    "%s: br and gzip decode to the identity bytes; identity without Accept-Encoding",
    async (path, { server }) => {
      const plain = await get(server.url + path);
      expect(plain.status).toBe(200);
      expect(plain.headers["content-encoding"]).toBeUndefined();
      expect(plain.headers.vary).toMatch(/Accept-Encoding/);
      expect(Number(plain.headers["content-length"])).toBe(plain.body.length);
      const br = await get(server.url + path, { "accept-encoding": "gzip, deflate, br" });
      expect(br.headers["content-encoding"]).toBe("br");
      expect(br.headers.vary).toMatch(/Accept-Encoding/);
      expect(brotliDecompressSync(br.body).equals(plain.body)).toBe(true);
      const gz = await get(server.url + path, { "accept-encoding": "gzip" });
      expect(gz.headers["content-encoding"]).toBe("gzip");
      expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
      expect(br.body.length).toBeLessThan(plain.body.length);
      expect(new Set([plain.headers.etag, br.headers.etag, gz.headers.etag]).size).toBe(3);
      expect(plain.headers["content-type"]).toBe(br.headers["content-type"]);
    },
  );

  test("q-values are honoured: br;q=0 and identity-only answers", async ({ server }) => {
    expect(
      (await get(server.url + "/openapi.json", { "accept-encoding": "br;q=0, gzip" })).headers[
        "content-encoding"
      ],
    ).toBe("gzip");
    expect(
      (await get(server.url + "/openapi.json", { "accept-encoding": "gzip;q=0.5, br;q=0.1" })).headers[
        "content-encoding"
      ],
    ).toBe("gzip");
    expect(
      (await get(server.url + "/openapi.json", { "accept-encoding": "identity" })).headers[
        "content-encoding"
      ],
    ).toBeUndefined();
    expect(
      (await get(server.url + "/openapi.json", { "accept-encoding": "*;q=0" })).headers["content-encoding"],
    ).toBeUndefined();
    expect(
      (await get(server.url + "/openapi.json", { "accept-encoding": "*" })).headers["content-encoding"],
    ).toBe("br");
  });

  test("validators: the same ETag again is 304 without a body; caching headers", async ({ server }) => {
    const first = await get(server.url + "/docs/swagger-ui-bundle.js", { "accept-encoding": "br" });
    expect(first.headers["cache-control"]).toBe("public, max-age=86400");
    const again = await get(server.url + "/docs/swagger-ui-bundle.js", {
      "accept-encoding": "br",
      "if-none-match": String(first.headers.etag),
    });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(first.headers.etag);
    // The identity representation's tag does not match the br one.
    const other = await get(server.url + "/docs/swagger-ui-bundle.js", {
      "if-none-match": String(first.headers.etag),
    });
    expect(other.status).toBe(200);
    expect((await get(server.url + "/openapi.json")).headers["cache-control"]).toBe("no-cache");
  });

  test("API answers are not compressed (only the documents are)", async ({ server }) => {
    const health = await get(server.url + "/health", { "accept-encoding": "br, gzip" });
    expect(health.headers["content-encoding"]).toBeUndefined();
  });
});
