import * as getItemsContract from "../../contracts/items/get-items.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { planFetch, type FetchPlan } from "../services/item-operations.js";
import { itemJsonPieces, type ItemRow, type StreamEnd } from "../services/items.js";
import { answerNotModified, etagOf, noneMatchFails, parseNoneMatch } from "./conditional.js";
import { parseParams } from "./params.js";
import { openItemRequest } from "./raw-request.js";
import type { RawHandler } from "./raw-routes.js";
import { holdStreamSlot } from "./stream-slots.js";
import { answerJson, answerStreamHead, clientGone, readAhead, writeJsonStream } from "./stream-writer.js";

/**
 * GET /collections/{name}[/{key}] (SPEC §3.1), streamed: `{"results": [...], "end_offset", "cursor"}`;
 * with `keys_only=true` (SPEC §9.5) the results are the keys alone.
 * HEAD checks the same (caller, collection, parameters) and reads no item, but the one item of an exact
 * key. That answer (an exact key without time filters, offset or cursor) has `ETag: "<version>"`, and
 * `If-None-Match` with that tag (or `*`) is 304 (SPEC §9.1).
 */
export const getItems: RawHandler = async (req, res, raw) => {
  const { principal, caller, query, name, key } = await openItemRequest(raw, { readKey: true });
  const plan = await planFetch(caller, { ...parseParams(getItemsContract.query, query), name, key }, "rest");
  // A point read whose item came with the token check: answered whole, without a stream.
  const known = plan.single ? plan.item() : undefined;
  if (known !== undefined) return answerKnownItem(req, res, raw.scope.head, plan, known);
  if (!raw.scope.head) holdStreamSlot(raw.services, principal, res);
  if (raw.scope.head && !plan.single) return answerStreamHead(res);
  const wanted = plan.single ? parseNoneMatch(req.headers["if-none-match"]) : undefined;
  const signal = clientGone(req, res);
  // meta=true inserts `_meta` into each value (withMeta): those rows are assembled here.
  let batches = plan.stream(signal, { wire: !plan.meta && !plan.single });
  if (plan.single) {
    const first = await batches.next();
    const row = first.done ? undefined : first.value[0];
    if (row) res.setHeader("etag", etagOf(row.version));
    const fresh = row !== undefined && noneMatchFails(wanted, row.version);
    if (fresh || raw.scope.head) {
      await batches.return(undefined as never);
      return fresh ? answerNotModified(res, row.version) : answerStreamHead(res);
    }
    batches = replay(first, batches);
  }
  if (plan.copy && !plan.single) {
    const copied = plan.copy(signal, { separator: "," });
    await writeJsonStream(res, signal, {
      head: '{"results":[',
      batches: readAhead(copied),
      row: (text) => text,
      tail: (end) =>
        end.aborted ? undefined : `],"end_offset":${plan.startOffset + end.count},"cursor":null}`,
    });
    return;
  }
  await writeJsonStream(res, signal, {
    head: '{"results":[',
    // An embedded database on this thread reads nothing meanwhile: ahead would only delay the first write.
    batches: raw.services.db.kind === "embedded" ? batches : readAhead(batches),
    row: (row) => row.wire ?? (plan.keysOnly ? JSON.stringify(row.key) : itemJsonPieces(row, plan.meta)),
    tail: (end) =>
      end.aborted
        ? undefined
        : `],"end_offset":${plan.startOffset + end.count},"cursor":${JSON.stringify(plan.nextCursor(end))}}`,
  });
};

/** The answer of `single` from its item in hand (null: none): the same bytes and headers as its stream's. */
function answerKnownItem(
  req: IncomingMessage,
  res: ServerResponse,
  head: boolean,
  plan: FetchPlan,
  row: ItemRow | null,
): void {
  if (row) {
    res.setHeader("etag", etagOf(row.version));
    if (noneMatchFails(parseNoneMatch(req.headers["if-none-match"]), row.version))
      return answerNotModified(res, row.version);
  }
  if (head) return answerStreamHead(res);
  const item = row ? (plan.keysOnly ? JSON.stringify(row.key) : itemJsonPieces(row, plan.meta).join("")) : "";
  answerJson(res, `{"results":[${item}],"end_offset":${plan.startOffset + (row ? 1 : 0)},"cursor":null}`);
}

/** The batches of a stream whose first step was already taken (to read its item's version first). */
async function* replay(
  first: IteratorResult<ItemRow[], StreamEnd>,
  rest: AsyncGenerator<ItemRow[], StreamEnd, void>,
): AsyncGenerator<ItemRow[], StreamEnd, void> {
  try {
    if (first.done) return first.value;
    yield first.value;
    let next = await rest.next();
    while (!next.done) {
      yield next.value;
      next = await rest.next();
    }
    return next.value;
  } finally {
    await rest.return(undefined as never);
  }
}
