import { request } from "node:http";
import type { TestServer } from "./server.js";

export const lightningPath = (name: string, rest = "") => `/lightning/collections/${name}${rest}`;

/** A GET whose body is returned as the chunks the client received, to check what each write held. */
export function rawChunks(
  server: TestServer,
  path: string,
  authorization: string,
): Promise<{ status: number; chunks: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request(server.url + path, { headers: { authorization } }, (res) => {
      const chunks: string[] = [];
      res.setEncoding("utf8");
      res.on("data", (c: string) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, chunks }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Rejects when `work` takes longer than `ms`: a cursor the adaptor mis-reads makes it page forever. */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`watchdog: ${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, watchdog]);
  } finally {
    clearTimeout(timer);
  }
}
