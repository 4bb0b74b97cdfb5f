/**
 * Newest-first lists (API.md "Lists"): `?limit=` (default 20, max 100) and
 * `?cursor=` (the last id of the previous page; ids sort by creation time) or
 * `?offset=`. Answers `{items, nextCursor}`.
 */
import type { Collection, Doc, Filter } from "../../../lib/store";

export interface PageQuery { limit?: number; cursor?: string; offset?: number }
export interface Page<T> { items: T[]; nextCursor: string | null }

export const DEFAULT_PAGE = 20;

export async function pageOf<T extends Doc>(coll: Collection<T>, filter: Filter, page: PageQuery): Promise<Page<T>> {
  const limit = page.limit ?? DEFAULT_PAGE;
  const where: Filter = page.cursor ? { ...filter, _id: { $lt: page.cursor } } : filter;
  const rows = await coll.find(where, { sort: { _id: -1 }, limit: limit + 1, skip: page.cursor ? 0 : page.offset ?? 0 });
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]._id : null };
}
