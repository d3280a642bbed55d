import { createHash } from "node:crypto";

// The items every scenario uses: keys with a numeric prefix (prefix patterns select 100 of them) and a
// hex tail (infix patterns such as *abc* match about 0.1%), values of about 250 bytes of JSON.

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

/** Same as the SQL below: 'key-' || lpad(i, 7, '0') || '-' || left(md5(i::text), 8). */
export function itemKey(i: number): string {
  return `key-${String(i).padStart(7, "0")}-${md5(String(i)).slice(0, 8)}`;
}

export function itemKeySql(i: string): string {
  return `'key-' || lpad(${i}::text, 7, '0') || '-' || left(md5(${i}::text), 8)`;
}

/** About 250 bytes of JSON; `version` changes between the insert and the update rounds. */
export function itemValueJson(i: number, version: number): string {
  const h = md5(`${i}:${version}`);
  return JSON.stringify({
    id: i,
    version,
    name: `Patient ${i}`,
    email: `patient${i}@example.org`,
    status: i % 3 === 0 ? "inactive" : "active",
    score: i % 97,
    note: h + h + h + h.slice(0, 20),
  });
}

/**
 * The SQL twin of itemValueJson (same fields, json_build_object's spacing). With `valueBytes`, a member
 * `pad` (md5 text of the item's number, repeated) brings the value to about that many bytes (±10): the
 * fields above take 256-275 bytes with an empty pad. Repeated text compresses: PostgreSQL stores a value
 * of 500 KB in a few KB (TOAST), but it is read, decompressed and sent at its full size.
 */
export function itemValueSql(i: string, valueBytes?: number): string {
  const pad =
    valueBytes === undefined ? "" : `, 'pad', rpad('', ${Math.max(0, valueBytes - 266)}, md5(${i}::text))`;
  return `json_build_object('id', ${i}, 'version', 1, 'name', 'Patient ' || ${i}, 'email', 'patient' || ${i} || '@example.org',
    'status', CASE WHEN ${i} % 3 = 0 THEN 'inactive' ELSE 'active' END, 'score', ${i} % 97,
    'note', repeat(md5(${i}::text), 3) || left(md5(${i}::text), 20)${pad})::text`;
}
