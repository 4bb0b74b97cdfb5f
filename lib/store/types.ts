/**
 * The store port: a small document-collection API that behaves the same on
 * NeDB files (embedded profile), MongoDB and FerretDB (distributed profile).
 *
 * Only what all three do alike: single-document atomic conditional updates,
 * unique indexes on fields that are always present, plain query operators
 * ($eq $ne $gt $gte $lt $lte $in $nin $or $and $exists) and update operators
 * ($set $unset $inc $push). Times are stored as ISO-8601 UTC strings, which
 * compare correctly as strings. Expiry is checked in code, never by TTL index.
 */

export interface Doc { _id: string }

export type Filter = Record<string, unknown>;
export type Update = {
  $set?: Record<string, unknown>;
  $unset?: Record<string, true | "" | 1>;
  $inc?: Record<string, number>;
  $push?: Record<string, unknown>;
};

export interface FindOptions {
  sort?: Record<string, 1 | -1>;
  limit?: number;
  skip?: number;
}

export interface IndexSpec {
  fields: Record<string, 1 | -1>;
  unique?: boolean;
  name?: string;
}

export interface Collection<T extends Doc> {
  /** Inserts; a unique-index violation throws DuplicateKeyError. */
  insert(doc: T): Promise<T>;
  findOne(filter: Filter): Promise<T | null>;
  findById(id: string): Promise<T | null>;
  find(filter: Filter, options?: FindOptions): Promise<T[]>;
  count(filter: Filter): Promise<number>;
  /**
   * Atomically updates the first document matching `filter` and returns it as
   * it is after the update, or null when nothing matched (the conditional
   * update lost: a conflict for the caller to report).
   */
  updateOne(filter: Filter, update: Update): Promise<T | null>;
  /** Inserts `doc` when nothing matches `filter`, else applies `update`. */
  upsert(filter: Filter, update: Update, doc: T): Promise<T>;
  updateMany(filter: Filter, update: Update): Promise<number>;
  deleteOne(filter: Filter): Promise<boolean>;
  deleteMany(filter: Filter): Promise<number>;
}

export interface FileInfo { id: string; size: number; contentType: string; filename: string; createdAt: string; metadata?: Record<string, unknown> }

export interface FileStore {
  /** Streams `content` into the store; returns what was stored. */
  put(content: NodeJS.ReadableStream | Buffer, meta: { contentType: string; filename: string; metadata?: Record<string, unknown> }): Promise<FileInfo>;
  /** null when unknown. */
  get(id: string): Promise<{ info: FileInfo; stream: NodeJS.ReadableStream } | null>;
  delete(id: string): Promise<boolean>;
}

export interface Database {
  readonly kind: "nedb" | "mongodb";
  collection<T extends Doc>(name: string, indexes?: IndexSpec[]): Collection<T>;
  files(bucket?: string): FileStore;
  /** Resolves when the database answers; throws SERVICE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
