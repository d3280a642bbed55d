import type { ExportFormat } from "../../contracts/items/export-items.js";
import { itemJsonPieces, type ItemRow } from "./items.js";
import { minifyJson } from "./json-text.js";

// The wire format of a bulk export (SPEC §9.4), shared by GET /collections/{name}/export
// (server/http/items-export.ts) and the admin CLI's collection:export (server/cli/transfer.ts).

/**
 * One exported item as JSON text in three pieces, the stored value apart (a large one is written without a
 * copy): the §3 item `{"key","value","created","updated","version"}` (itemJsonPieces), the value the
 * stored JSON text as it is. A stored text with a line break outside its strings (none is written so:
 * values are stored minified) would be minified, so that an item is always one NDJSON line.
 */
export function exportPieces(row: ItemRow): [string, string, string] {
  const pieces = itemJsonPieces(row, false);
  if (pieces[1].includes("\n")) pieces[1] = minifyJson(pieces[1]);
  return pieces;
}

/** How each format frames the items: text before the first, between two, after each one and after the last. */
export interface ExportFraming {
  contentType: string;
  extension: string;
  head: string;
  separator: string;
  /** Written after every item (the NDJSON line break). */
  after: string;
  tail: string;
}

export const exportFraming: Record<ExportFormat, ExportFraming> = {
  ndjson: {
    contentType: "application/x-ndjson",
    extension: "ndjson",
    head: "",
    separator: "",
    after: "\n",
    tail: "",
  },
  "json-array": {
    contentType: "application/json; charset=utf-8",
    extension: "json",
    head: "[",
    separator: ",",
    after: "",
    tail: "]",
  },
};

/** The headers of an export answer: its type, and the file name a browser saves it under. */
export function exportHeaders(collection: string, format: ExportFormat): Record<string, string> {
  const framing = exportFraming[format];
  return {
    "content-type": framing.contentType,
    "content-disposition": `attachment; filename="${collection}.${framing.extension}"`,
    "cache-control": "no-store",
  };
}
