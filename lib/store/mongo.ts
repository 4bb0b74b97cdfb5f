/**
 * Distributed profile: MongoDB (or FerretDB) through mongoose, one connection
 * and one database per service. Unlike moleculer-db-adapter-mongoose it never
 * uses mongoose's global connection, gives up on a bad URI after a bounded
 * number of tries, and turns an unreachable server into SERVICE_UNAVAILABLE.
 */
import mongoose, { Connection, Model, Schema } from "mongoose";
import { DuplicateKeyError, unavailable } from "../errors";
import { clean, upsertVia } from "./common";
import type { Collection, Database, Doc, FileInfo, FileStore, Filter, FindOptions, IndexSpec, Update } from "./types";
import { newId } from "../ids";
import { Readable } from "node:stream";

const CONNECT_TRIES = 5;
/** A claim older than this is from a writer that died; it may be broken. */
const CLAIM_TTL_MS = 15_000;
const CLAIM_WAIT_MS = 10_000;

/**
 * Per-document write claims, for servers whose find-and-modify is not atomic.
 * FerretDB 1.24 reads, checks and writes in separate steps, so two conditional
 * updates of one document can both "win" (seen in test/integration/ports.test.ts).
 * Its unique `_id` insert is atomic, so a writer first inserts a claim
 * `{_id: "<collection>:<docId>"}`, does its conditional update alone, and
 * deletes the claim. On MongoDB itself no claims are taken.
 */
class WriteClaims {
  constructor(private readonly claims: import("mongoose").Collection) {}

  async exclusive<R>(key: string, op: () => Promise<R>): Promise<R> {
    const token = newId();
    const until = Date.now() + CLAIM_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.claims.insertOne({ _id: key as any, token, expiresAt: Date.now() + CLAIM_TTL_MS });
        break;
      } catch (err: any) {
        if (err?.code !== 11000) throw err;
        const held = await this.claims.findOne({ _id: key as any });
        if (held && held.expiresAt < Date.now()) await this.claims.deleteOne({ _id: key as any, token: held.token });
        if (Date.now() > until) throw unavailable("The database (a record is busy)");
        await new Promise((r) => setTimeout(r, Math.min(1 + attempt * 2, 25) + Math.random() * 5));
      }
    }
    try {
      return await op();
    } finally {
      await this.claims.deleteOne({ _id: key as any, token }).catch(() => undefined);
    }
  }
}

function isUnavailable(err: any): boolean {
  const name = String(err?.name ?? "");
  return /MongoServerSelectionError|MongoNetworkError|MongoNotConnectedError|MongoTopologyClosedError|MongoNetworkTimeoutError|PoolClearedError/.test(name)
    || (name === "MongooseError" && /initial connection|Client must be connected|connection/i.test(String(err?.message)));
}

async function guard<R>(op: () => Promise<R>): Promise<R> {
  try {
    return await op();
  } catch (err: any) {
    if (err?.code === 11000) {
      const index = err.keyPattern ? Object.keys(err.keyPattern).join("+") : String(err.message).match(/index: (\S+)/)?.[1] ?? "key";
      throw new DuplicateKeyError(index);
    }
    if (isUnavailable(err)) throw unavailable("The database");
    throw err;
  }
}

class MongoCollection<T extends Doc> implements Collection<T> {
  private ready: Promise<unknown>;

  constructor(private readonly model: Model<any>, indexes: IndexSpec[], private readonly claims?: WriteClaims) {
    this.ready = Promise.all(
      indexes.map((ix) => guard(() => model.collection.createIndex(ix.fields, { unique: ix.unique ?? false, ...(ix.name ? { name: ix.name } : {}) }))),
    );
    this.ready.catch(() => undefined);
  }

  private async run<R>(op: () => Promise<R>): Promise<R> {
    await this.ready;
    return guard(op);
  }

  insert(doc: T) {
    return this.run(async () => {
      await this.model.collection.insertOne(doc as any);
      return doc;
    });
  }
  findOne(filter: Filter) {
    return this.run(() => this.model.findOne(filter).lean<T>().exec() as Promise<T | null>);
  }
  findById(id: string) {
    return this.findOne({ _id: id });
  }
  find(filter: Filter, options: FindOptions = {}) {
    return this.run(() => {
      let q = this.model.find(filter);
      if (options.sort) q = q.sort(options.sort);
      if (options.skip) q = q.skip(options.skip);
      if (options.limit) q = q.limit(options.limit);
      return q.lean<T[]>().exec() as Promise<T[]>;
    });
  }
  count(filter: Filter) {
    return this.run(() => this.model.countDocuments(filter).exec());
  }
  updateOne(filter: Filter, update: Update) {
    const apply = (f: Filter) => this.model.findOneAndUpdate(f, clean(update) as any, { new: true }).lean<T>().exec() as Promise<T | null>;
    return this.run(() => this.claimed(filter, apply));
  }

  /** Runs a conditional write alone on its document where the server needs it (see WriteClaims). */
  private async claimed<R>(filter: Filter, write: (f: Filter) => Promise<R | null>): Promise<R | null> {
    if (!this.claims) return write(filter);
    let id = typeof filter._id === "string" ? filter._id : undefined;
    if (!id) {
      const match = await this.model.findOne(filter, { _id: 1 }).lean<{ _id: string }>().exec();
      if (!match) return null;
      id = match._id;
    }
    return this.claims.exclusive(`${this.model.collection.collectionName}:${id}`, () => write({ ...filter, _id: id }));
  }
  upsert(filter: Filter, update: Update, doc: T): Promise<T> {
    return upsertVia(this, filter, update, doc);
  }
  updateMany(filter: Filter, update: Update) {
    return this.run(async () => (await this.model.updateMany(filter, clean(update) as any).exec()).modifiedCount);
  }
  deleteOne(filter: Filter) {
    return this.run(async () => (await this.claimed(filter, async (f) => ((await this.model.deleteOne(f).exec()).deletedCount > 0 ? true : null))) === true);
  }
  deleteMany(filter: Filter) {
    return this.run(async () => (await this.model.deleteMany(filter).exec()).deletedCount);
  }
}

class GridFsStore implements FileStore {
  constructor(private readonly conn: Connection, private readonly bucketName: string) {}

  private bucket() {
    if (!this.conn.db) throw unavailable("The database");
    return new mongoose.mongo.GridFSBucket(this.conn.db, { bucketName: this.bucketName });
  }

  put(content: NodeJS.ReadableStream | Buffer, meta: { contentType: string; filename: string; metadata?: Record<string, unknown> }): Promise<FileInfo> {
    return guard(async () => {
      const id = newId();
      const createdAt = new Date().toISOString();
      const upload = this.bucket().openUploadStreamWithId(id as any, meta.filename, {
        metadata: { ...meta.metadata, contentType: meta.contentType, createdAt },
      });
      const source = Buffer.isBuffer(content) ? Readable.from([content]) : (content as NodeJS.ReadableStream);
      await new Promise<void>((resolve, reject) => {
        source.on("error", (e) => { upload.abort().catch(() => undefined); reject(e); });
        upload.on("error", reject).on("finish", () => resolve());
        source.pipe(upload);
      });
      return { id, size: upload.length, contentType: meta.contentType, filename: meta.filename, createdAt, metadata: meta.metadata };
    });
  }

  get(id: string) {
    return guard(async () => {
      const [file] = await this.bucket().find({ _id: id as any }).limit(1).toArray();
      if (!file) return null;
      const { contentType, createdAt, ...metadata } = (file.metadata ?? {}) as Record<string, any>;
      const info: FileInfo = { id, size: file.length, contentType, filename: file.filename, createdAt, metadata };
      return { info, stream: this.bucket().openDownloadStream(id as any) };
    });
  }

  delete(id: string) {
    return guard(async () => {
      try {
        await this.bucket().delete(id as any);
        return true;
      } catch (err: any) {
        if (/not found/i.test(String(err?.message))) return false;
        throw err;
      }
    });
  }
}

export class MongoDatabase implements Database {
  readonly kind = "mongodb" as const;
  private readonly models = new Map<string, MongoCollection<any>>();

  private readonly claims?: WriteClaims;

  private constructor(private readonly conn: Connection, atomicFindAndModify: boolean) {
    if (!atomicFindAndModify) this.claims = new WriteClaims(conn.collection("_write_claims"));
  }

  static async connect(url: string, dbName: string, log: (msg: string) => void): Promise<MongoDatabase> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= CONNECT_TRIES; attempt++) {
      const conn = mongoose.createConnection(url, { dbName, serverSelectionTimeoutMS: 3000, bufferCommands: false, autoIndex: false, autoCreate: false });
      try {
        await conn.asPromise();
        const info = await conn.db!.admin().command({ buildInfo: 1 });
        return new MongoDatabase(conn, !("ferretdbVersion" in info));
      } catch (err) {
        lastError = err;
        await conn.close().catch(() => undefined);
        log(`MongoDB at ${redact(url)} did not answer (try ${attempt}/${CONNECT_TRIES})`);
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
    throw new Error(`Cannot connect to MongoDB at ${redact(url)}: ${String((lastError as Error | undefined)?.message ?? lastError)}`);
  }

  collection<T extends Doc>(name: string, indexes: IndexSpec[] = []): Collection<T> {
    let c = this.models.get(name);
    if (!c) {
      const schema = new Schema({ _id: String }, { strict: false, versionKey: false, collection: name, autoIndex: false, strictQuery: false });
      const model = this.conn.models[name] ?? this.conn.model(name, schema, name);
      c = new MongoCollection<T>(model, indexes, this.claims);
      this.models.set(name, c);
    }
    return c as Collection<T>;
  }

  files(bucket = "files") {
    return new GridFsStore(this.conn, bucket);
  }

  async ping() {
    await guard(async () => {
      if (!this.conn.db) throw unavailable("The database");
      await this.conn.db.command({ ping: 1 });
    });
  }

  async close() {
    await this.conn.close();
  }
}

export function redact(url: string): string {
  return url.replace(/\/\/([^@/]+)@/, "//***@");
}
