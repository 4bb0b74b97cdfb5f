/** What both store adapters share. */
import { DuplicateKeyError } from "../errors";
import type { Collection, Doc, Filter, Update } from "./types";

/** Insert-or-update without relying on either store's upsert semantics. */
export async function upsertVia<T extends Doc>(c: Collection<T>, filter: Filter, update: Update, doc: T): Promise<T> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const updated = await c.updateOne(filter, update);
    if (updated) return updated;
    try {
      return await c.insert(doc);
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
  }
  throw new DuplicateKeyError("key");
}

/** Both stores reject empty operator objects. */
export function clean(update: Update): Update {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(update)) if (v && Object.keys(v).length) out[k] = v;
  return out as Update;
}

