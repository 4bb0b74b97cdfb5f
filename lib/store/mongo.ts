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

  constructor(private readonly model: Model<any>, indexes: IndexSpec[]) {
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
    return this.run(() => this.model.findOneAndUpdate(filter, clean(update) as any, { new: true }).lean<T>().exec() as Promise<T | null>);
  }
  upsert(filter: Filter, update: Update, doc: T): Promise<T> {
    return upsertVia(this, filter, update, doc);
  }
  updateMany(filter: Filter, update: Update) {
    return this.run(async () => (await this.model.updateMany(filter, clean(update) as any).exec()).modifiedCount);
  }
  deleteOne(filter: Filter) {
    return this.run(async () => (await this.model.deleteOne(filter).exec()).deletedCount > 0);
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

  private constructor(private readonly conn: Connection) {}

  static async connect(url: string, dbName: string, log: (msg: string) => void): Promise<MongoDatabase> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= CONNECT_TRIES; attempt++) {
      const conn = mongoose.createConnection(url, { dbName, serverSelectionTimeoutMS: 3000, bufferCommands: false, autoIndex: false, autoCreate: false });
      try {
        await conn.asPromise();
        return new MongoDatabase(conn);
      } catch (err) {
        lastError = err;
        await conn.close().catch(() => undefined);
        log(`MongoDB at ${redact(url)} did not answer (try ${attempt}/${CONNECT_TRIES})`);
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
    throw new Error(`Cannot connect to MongoDB at ${redact(url)}: ${(lastError as Error)?.message}`);
  }

  collection<T extends Doc>(name: string, indexes: IndexSpec[] = []): Collection<T> {
    let c = this.models.get(name);
    if (!c) {
      const schema = new Schema({ _id: String }, { strict: false, versionKey: false, collection: name, autoIndex: false, strictQuery: false });
      const model = this.conn.models[name] ?? this.conn.model(name, schema, name);
      c = new MongoCollection<T>(model, indexes);
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
