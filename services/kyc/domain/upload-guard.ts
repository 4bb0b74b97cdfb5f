/**
 * What a document upload really is, decided by its first bytes (its "magic
 * number"), never by the name or Content-Type the client sent; and how big it
 * is, counted as it streams past. Nothing is buffered beyond the first bytes.
 */
import { Transform, type TransformCallback } from "node:stream";
import { AppError, badRequest } from "../../../lib/errors";

export const DOCUMENT_TYPES = ["application/pdf", "image/jpeg", "image/png"] as const;
export type DocumentContentType = (typeof DOCUMENT_TYPES)[number];

export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PDF = Buffer.from("%PDF-", "latin1");
/** Enough bytes to tell every accepted type apart. */
const HEAD_BYTES = PNG.length;

/** The accepted type whose signature `head` starts with, or null. */
export function sniffContentType(head: Buffer): DocumentContentType | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "image/jpeg";
  if (head.length >= PNG.length && head.subarray(0, PNG.length).equals(PNG)) return "image/png";
  if (head.length >= PDF.length && head.subarray(0, PDF.length).equals(PDF)) return "application/pdf";
  return null;
}

export const EXTENSION: Record<DocumentContentType, string> = { "application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png" };

export const tooLarge = (maxBytes: number) => new AppError("PAYLOAD_TOO_LARGE", `The file is larger than ${maxBytes / (1024 * 1024)} MB`, { maxBytes });
export const unsupported = () => new AppError("UNSUPPORTED_MEDIA_TYPE", "The file must be a JPEG, PNG or PDF (checked by its content)", { accepted: [...DOCUMENT_TYPES] });

/** Turns an error of the incoming stream into what the client did wrong. */
export function uploadStreamError(err: any): AppError {
  if (err instanceof AppError) return err;
  if (err?.code === 413 || err?.type === "PAYLOAD_TOO_LARGE") return tooLarge(MAX_DOCUMENT_BYTES);
  return badRequest("The upload was interrupted before the file was complete");
}

/**
 * Pass-through that holds back the first bytes until it knows the type
 * (`detected` resolves with it, or rejects with 415), then lets everything
 * through, and fails with 413 as soon as more than `maxBytes` went past.
 */
export class UploadGuard extends Transform {
  size = 0;
  contentType?: DocumentContentType;
  readonly detected: Promise<DocumentContentType>;
  private head: Buffer[] = [];
  private headLength = 0;
  private settle!: { resolve: (t: DocumentContentType) => void; reject: (e: unknown) => void };

  constructor(private readonly maxBytes = MAX_DOCUMENT_BYTES) {
    super();
    this.detected = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.detected.catch(() => undefined);
    this.once("error", (err) => this.settle.reject(err));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return done(tooLarge(this.maxBytes));
    if (this.contentType) return done(null, chunk);
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength < HEAD_BYTES) return done();
    this.decide(done);
  }

  override _flush(done: TransformCallback) {
    if (this.contentType) return done();
    if (this.size === 0) return done(badRequest("The file is empty"));
    this.decide(done);
  }

  private decide(done: TransformCallback) {
    const head = Buffer.concat(this.head);
    this.head = [];
    const type = sniffContentType(head);
    if (!type) return done(unsupported());
    this.contentType = type;
    this.settle.resolve(type);
    done(null, head);
  }
}
