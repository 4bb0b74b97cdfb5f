/**
 * Keyset paging (API.md "Lists"): `?limit=` (default 20, max 100), an opaque
 * `?cursor=` from the previous page, or `?offset=`. Sorted by one field and
 * then `_id`, so a page never repeats or skips a record that did not move.
 */
import type { Collection, Doc, Filter } from "../../../lib/store";
import { validationError } from "../../../lib/errors";

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

export interface PageRequest { limit?: number; cursor?: string; offset?: number }
export interface Page<T> { items: T[]; nextCursor: string | null }

function encode(value: unknown, id: string): string {
  return Buffer.from(JSON.stringify([value, id])).toString("base64url");
}

function decode(cursor: string): [string | number, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(v) && v.length === 2 && (typeof v[0] === "string" || typeof v[0] === "number") && typeof v[1] === "string") return v as [string | number, string];
  } catch {
    // fall through
  }
  throw validationError([{ field: "cursor", message: "is not a cursor this list gave out" }]);
}

export async function page<T extends Doc>(coll: Collection<T>, filter: Filter, sortBy: keyof T & string, direction: 1 | -1, req: PageRequest): Promise<Page<T>> {
  const limit = Math.min(Math.max(Math.trunc(req.limit ?? DEFAULT_LIMIT), 1), MAX_LIMIT);
  const parts: Filter[] = Object.keys(filter).length ? [filter] : [];
  if (req.cursor) {
    const [value, id] = decode(req.cursor);
    const after = direction === 1 ? "$gt" : "$lt";
    parts.push({ $or: [{ [sortBy]: { [after]: value } }, { [sortBy]: value, _id: { [after]: id } }] });
  }
  const query = parts.length > 1 ? { $and: parts } : (parts[0] ?? {});
  const rows = await coll.find(query, { sort: { [sortBy]: direction, _id: direction }, limit: limit + 1, skip: req.cursor ? 0 : Math.max(0, req.offset ?? 0) });
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encode(last[sortBy], last._id) : null };
}
