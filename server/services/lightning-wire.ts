import type { ItemRow } from "./items.js";

// The Lightning dialect's value and item formats (SPEC §5); its requests go through item-operations.ts.

/**
 * Interop. Write side: a string received is stored as a JSON string value (its valueJson is
 * JSON.stringify(string), server/http/lightning-write.ts). Read side: a stored JSON string goes out as that string (its stored JSON text is already the
 * JSON of the wire string); any other stored JSON value goes out as its JSON text, as a string.
 */
export function wireValueJson(storedJson: string): string {
  return storedJson.startsWith('"') ? storedJson : JSON.stringify(storedJson);
}

/** The wire value of a stored item, as a JS string. */
export function wireValue(storedJson: string): string {
  return storedJson.startsWith('"') ? (JSON.parse(storedJson) as string) : storedJson;
}

/** One item of a Lightning list, as JSON text in three pieces, the value apart (see itemJsonPieces). */
export function lightningItemJsonPieces(row: ItemRow): [string, string, string] {
  return [
    `{"key":${JSON.stringify(row.key)},"value":`,
    wireValueJson(row.value),
    `,"created":"${row.created}","updated":"${row.updated}"}`,
  ];
}
