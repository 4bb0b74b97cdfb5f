import type { NedbDatabase } from "../../../lib/store/nedb";

/** Closes an embedded database in a unit test. NedbDatabase.close() leaves NeDB's autocompaction interval running; stop it so jest can exit. */
export async function closeNedb(db: NedbDatabase): Promise<void> {
  await db.close();
  for (const c of (db as any).collections.values()) c.ds.stopAutocompaction();
}
