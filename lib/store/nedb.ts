/** Embedded profile: one NeDB file per collection under DATA_DIR/<service>/. */
import fs from "node:fs";
import path from "node:path";
import Datastore from "@seald-io/nedb";
import { DuplicateKeyError } from "../errors";
import { clean, upsertVia } from "./common";
import type { Collection, Database, Doc, Filter, FindOptions, IndexSpec, Update } from "./types";
import { LocalFileStore } from "./local-files";

const COMPACT_EVERY_MS = 10 * 60_000;

class NedbCollection<T extends Doc> implements Collection<T> {
  private ready: Promise<void>;

  constructor(private readonly ds: Datastore<T>, indexes: IndexSpec[]) {
    this.ready = (async () => {
      await ds.loadDatabaseAsync();
      for (const ix of indexes) {
        const fields = Object.keys(ix.fields);
        await ds.ensureIndexAsync({ fieldName: fields.length === 1 ? fields[0] : fields, unique: ix.unique ?? false });
      }
      ds.setAutocompactionInterval(COMPACT_EVERY_MS);
    })();
  }

  private async run<R>(op: () => Promise<R>): Promise<R> {
    await this.ready;
    try {
      return await op();
    } catch (err: any) {
      if (err?.errorType === "uniqueViolated") throw new DuplicateKeyError(String(err.key && typeof err.key === "object" ? Object.keys(err.key).join("+") : "key"));
      throw err;
    }
  }

  insert(doc: T) {
    return this.run(async () => strip(await this.ds.insertAsync(doc)) as T);
  }
  findOne(filter: Filter) {
    return this.run(async () => strip(await this.ds.findOneAsync(filter as any)) as T | null);
  }
  findById(id: string) {
    return this.findOne({ _id: id });
  }
  find(filter: Filter, options: FindOptions = {}) {
    return this.run(async () => {
      let cursor = this.ds.findAsync(filter as any);
      if (options.sort) cursor = cursor.sort(options.sort);
      if (options.skip) cursor = cursor.skip(options.skip);
      if (options.limit) cursor = cursor.limit(options.limit);
      return (await cursor).map((d) => strip(d) as T);
    });
  }
  count(filter: Filter) {
    return this.run(() => this.ds.countAsync(filter as any) as Promise<number>);
  }
  updateOne(filter: Filter, update: Update) {
    return this.run(async () => {
      const res = await this.ds.updateAsync(filter as any, clean(update) as any, { returnUpdatedDocs: true, multi: false });
      return res.numAffected ? (strip(res.affectedDocuments as any) as T) : null;
    });
  }
  upsert(filter: Filter, update: Update, doc: T): Promise<T> {
    return upsertVia(this, filter, update, doc);
  }
  updateMany(filter: Filter, update: Update) {
    return this.run(async () => (await this.ds.updateAsync(filter as any, clean(update) as any, { multi: true })).numAffected);
  }
  deleteOne(filter: Filter) {
    return this.run(async () => (await this.ds.removeAsync(filter as any, { multi: false })) > 0);
  }
  deleteMany(filter: Filter) {
    return this.run(() => this.ds.removeAsync(filter as any, { multi: true }));
  }
  /** Compacts the file once more and stops the periodic compaction. */
  async close() {
    await this.ready.catch(() => undefined);
    this.ds.stopAutocompaction();
    await this.ds.compactDatafileAsync().catch(() => undefined);
  }
}

/** NeDB already hands out deep copies (never its cached objects), so there is nothing to copy again. */
function strip<D>(doc: D | null): D | null {
  return doc ?? null;
}

export class NedbDatabase implements Database {
  readonly kind = "nedb" as const;
  private readonly collections = new Map<string, NedbCollection<any>>();

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  collection<T extends Doc>(name: string, indexes: IndexSpec[] = []): Collection<T> {
    let c = this.collections.get(name);
    if (!c) {
      const ds = new Datastore<T>({ filename: path.join(this.dir, `${name}.db`) });
      c = new NedbCollection<T>(ds, indexes);
      this.collections.set(name, c);
    }
    return c as Collection<T>;
  }

  files(bucket = "files") {
    return new LocalFileStore(path.join(this.dir, bucket));
  }

  async ping() {
    await fs.promises.access(this.dir, fs.constants.W_OK);
  }

  async close() {
    await Promise.all([...this.collections.values()].map((c) => c.close()));
    this.collections.clear();
  }
}
