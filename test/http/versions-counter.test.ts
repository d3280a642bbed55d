import { describe, expect } from "vitest";
import { test as it } from "../support/fixtures.js";

// SPEC §9.1 (issue 14, done when): clients doing read-modify-write with If-Match on one key never lose an
// update. 16 clients, each with a token of its own, increment one counter for 10 s over plain HTTP:
// read it (ETag), PUT value + 1 with If-Match, and on 412 read again. Every acknowledged increment must
// be in the final value, and no two acknowledgements may be for the same value.

const CLIENTS = 16;
const DURATION_MS = 10_000;

describe("a counter incremented with If-Match by 16 concurrent clients", () => {
  it(
    "ends at the number of acknowledged increments, none lost",
    { timeout: 120_000 },
    async ({ server, tenant }) => {
      const name = await tenant.collection();
      const url = `${server.url}/collections/${name}/counter`;
      const create = await fetch(url, {
        method: "PUT",
        headers: { ...tenant.users.editor.headers, "content-type": "application/json", "if-none-match": "*" },
        body: "0",
      });
      expect(create.status).toBe(201);

      const tokens = await Promise.all(
        Array.from({ length: CLIENTS }, () =>
          server.services.auth.createUserToken({ userId: tenant.users.editor.id }),
        ),
      );
      /** Per client: the values its acknowledged PUTs wrote, with the versions they got, in order. */
      const acknowledged: { value: number; version: number }[][] = [];
      const unexpected: string[] = [];
      let conflicts = 0;
      const deadline = Date.now() + DURATION_MS;

      async function client(token: string): Promise<{ value: number; version: number }[]> {
        const auth = { authorization: `Bearer ${token}` };
        const mine: { value: number; version: number }[] = [];
        while (Date.now() < deadline) {
          const read = await fetch(url, { headers: auth });
          const etag = read.headers.get("etag");
          const body = (await read.json()) as { results: { value: number }[] };
          if (read.status !== 200 || etag === null) {
            unexpected.push(`GET ${read.status} ${JSON.stringify(body)}`);
            return mine;
          }
          const value = body.results[0]!.value + 1;
          const write = await fetch(url, {
            method: "PUT",
            headers: { ...auth, "content-type": "application/json", "if-match": etag },
            body: String(value),
          });
          const answer = (await write.json()) as { version?: number; current_version?: number | null };
          if (write.status === 200) {
            expect(write.headers.get("etag")).toBe(`"${answer.version}"`);
            mine.push({ value, version: answer.version! });
          } else if (write.status === 412) {
            conflicts++;
            expect(answer.current_version).toBeTypeOf("number");
          } else {
            unexpected.push(`PUT ${write.status} ${JSON.stringify(answer)}`);
            return mine;
          }
        }
        return mine;
      }

      acknowledged.push(...(await Promise.all(tokens.map((t) => client(t.token)))));
      expect(unexpected).toEqual([]);

      const all = acknowledged.flat();
      const final = await fetch(url, { headers: tenant.users.viewer.headers });
      const finalValue = ((await final.json()) as { results: { value: number }[] }).results[0]!.value;
      // Every acknowledged increment is in the final value...
      expect(finalValue).toBe(all.length);
      // ...each acknowledgement wrote a different value: together exactly 1..n (none overwrote another)...
      expect(all.map((a) => a.value).sort((x, y) => x - y)).toEqual(
        Array.from({ length: all.length }, (_, i) => i + 1),
      );
      // ...and versions grow with the value: the write of value v+1 came after the write of value v.
      const byValue = [...all].sort((x, y) => x.value - y.value);
      for (let i = 1; i < byValue.length; i++)
        expect(byValue[i]!.version).toBeGreaterThan(byValue[i - 1]!.version);
      expect(final.headers.get("etag")).toBe(`"${byValue[byValue.length - 1]!.version}"`);
      // Contention happened (16 clients on one key), and increments got through.
      expect(conflicts).toBeGreaterThan(0);
      expect(all.length).toBeGreaterThan(0);
    },
  );
});
