/**
 * Streamed uploads (KYC documents, vehicle photos): what a file really is,
 * decided by its first bytes (never by the name or Content-Type the client
 * sent), and its size, counted as it streams past. Nothing is buffered beyond
 * the first bytes.
 */
import { Transform, type TransformCallback } from "node:stream";
import { AppError, badRequest } from "./errors";

export type MediaType = "image/jpeg" | "image/png" | "image/webp" | "application/pdf";

export const EXTENSION: Record<MediaType, string> = { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf" };

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PDF = Buffer.from("%PDF-", "latin1");
const RIFF = Buffer.from("RIFF", "latin1");
const WEBP = Buffer.from("WEBP", "latin1");
/** Enough bytes to tell every known type apart. */
const HEAD_BYTES = 12;

const SIGNATURES: Record<MediaType, (head: Buffer) => boolean> = {
  "image/jpeg": (h) => h.length >= 3 && h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff,
  "image/png": (h) => h.length >= PNG.length && h.subarray(0, PNG.length).equals(PNG),
  "image/webp": (h) => h.length >= 12 && h.subarray(0, 4).equals(RIFF) && h.subarray(8, 12).equals(WEBP),
  "application/pdf": (h) => h.length >= PDF.length && h.subarray(0, PDF.length).equals(PDF),
};

/** The accepted type whose signature `head` starts with, or null. */
export function sniff<T extends MediaType>(head: Buffer, accepted: readonly T[]): T | null {
  return accepted.find((t) => SIGNATURES[t](head)) ?? null;
}

export interface UploadRules<T extends MediaType> {
  accepted: readonly T[];
  maxBytes: number;
  /** What the user sends, for messages: "file", "photo". */
  noun: string;
  /** The accepted kinds, for messages: "a JPEG, PNG or PDF". */
  kinds: string;
}

export const tooLarge = (r: UploadRules<MediaType>) => new AppError("PAYLOAD_TOO_LARGE", `The ${r.noun} is larger than ${r.maxBytes / (1024 * 1024)} MB`, { maxBytes: r.maxBytes });
export const unsupported = (r: UploadRules<MediaType>) => new AppError("UNSUPPORTED_MEDIA_TYPE", `The ${r.noun} must be ${r.kinds} (checked by its content)`, { accepted: [...r.accepted] });

/** Turns an error of the incoming stream into what the client did wrong. */
export function uploadStreamError(err: any, r: UploadRules<MediaType>): AppError {
  if (err instanceof AppError) return err;
  if (err?.code === 413 || err?.type === "PAYLOAD_TOO_LARGE") return tooLarge(r);
  return badRequest(`The upload was interrupted before the ${r.noun} was complete`);
}

/**
 * Pass-through that holds back the first bytes until it knows the type
 * (`detected` resolves with it, or rejects with 415), then lets everything
 * through, and fails with 413 as soon as more than `maxBytes` went past.
 */
export class UploadGuard<T extends MediaType> extends Transform {
  size = 0;
  contentType?: T;
  readonly detected: Promise<T>;
  private head: Buffer[] = [];
  private headLength = 0;
  private settle!: { resolve: (t: T) => void; reject: (e: unknown) => void };

  constructor(private readonly rules: UploadRules<T>) {
    super();
    this.detected = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.detected.catch(() => undefined);
    this.once("error", (err) => this.settle.reject(err));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    this.size += chunk.length;
    if (this.size > this.rules.maxBytes) return done(tooLarge(this.rules));
    if (this.contentType) return done(null, chunk);
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength < HEAD_BYTES) return done();
    this.decide(done);
  }

  override _flush(done: TransformCallback) {
    if (this.contentType) return done();
    if (this.size === 0) return done(badRequest(`The ${this.rules.noun} is empty`));
    this.decide(done);
  }

  private decide(done: TransformCallback) {
    const head = Buffer.concat(this.head);
    this.head = [];
    const type = sniff(head, this.rules.accepted);
    if (!type) return done(unsupported(this.rules));
    this.contentType = type;
    this.settle.resolve(type);
    done(null, head);
  }
}
