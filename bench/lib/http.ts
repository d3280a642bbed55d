import http from "node:http";

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One request over a keep-alive agent; the whole answer as text. */
export function request(
  agent: http.Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        agent,
        method,
        headers:
          body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export interface StreamRead {
  status: number;
  bytes: number;
  /** From sending the request to the first byte of the body. */
  firstByteMs: number;
  totalMs: number;
  /** The last 200 bytes (to check that the document ended properly). */
  tail: string;
}

/** GETs a URL and reads the body to the end, counting bytes, without keeping it. */
export function readStream(url: string, headers: Record<string, string>): Promise<StreamRead> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    let firstByteMs = NaN;
    let bytes = 0;
    let tail = Buffer.alloc(0);
    const req = http.get(url, { headers, agent: false }, (res) => {
      res.on("data", (c: Buffer) => {
        if (bytes === 0) firstByteMs = elapsed();
        bytes += c.length;
        tail = Buffer.concat([tail, c.subarray(Math.max(0, c.length - 200))]).subarray(-200);
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          bytes,
          firstByteMs,
          totalMs: elapsed(),
          tail: tail.toString("utf8"),
        }),
      );
      res.on("error", reject);
      res.on("aborted", () => reject(new Error("response aborted")));
    });
    req.on("error", reject);
  });
}
