/**
 * Vehicle photos: what an upload really is, decided by its first bytes (never
 * by the name or Content-Type the client sent), and its size, counted as it
 * streams past. Nothing is buffered beyond the first 12 bytes.
 */
import { Transform, type TransformCallback } from "node:stream";
import { AppError, badRequest } from "../../../lib/errors";

export const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"] as const;
export type PhotoContentType = (typeof PHOTO_TYPES)[number];
export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
export const EXTENSION: Record<PhotoContentType, string> = { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp" };

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const RIFF = Buffer.from("RIFF", "latin1");
const WEBP = Buffer.from("WEBP", "latin1");
const HEAD_BYTES = 12;

/** The accepted image type whose signature `head` starts with, or null. */
export function sniffPhotoType(head: Buffer): PhotoContentType | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "image/jpeg";
  if (head.length >= PNG.length && head.subarray(0, PNG.length).equals(PNG)) return "image/png";
  if (head.length >= 12 && head.subarray(0, 4).equals(RIFF) && head.subarray(8, 12).equals(WEBP)) return "image/webp";
  return null;
}

export const photoTooLarge = () => new AppError("PAYLOAD_TOO_LARGE", `The photo is larger than ${MAX_PHOTO_BYTES / (1024 * 1024)} MB`, { maxBytes: MAX_PHOTO_BYTES });
export const notAnImage = () => new AppError("UNSUPPORTED_MEDIA_TYPE", "The photo must be a JPEG, PNG or WebP image (checked by its content)", { accepted: [...PHOTO_TYPES] });

/** Turns an error of the incoming stream into what the client did wrong. */
export function uploadError(err: any): AppError {
  if (err instanceof AppError) return err;
  if (err?.code === 413 || err?.type === "PAYLOAD_TOO_LARGE") return photoTooLarge();
  return badRequest("The upload was interrupted before the photo was complete");
}

/**
 * Pass-through that holds back the first bytes until it knows the type
 * (`detected` resolves with it, or rejects with 415), then lets everything
 * through, and fails with 413 as soon as more than `maxBytes` went past.
 */
export class PhotoGuard extends Transform {
  size = 0;
  contentType?: PhotoContentType;
  readonly detected: Promise<PhotoContentType>;
  private head: Buffer[] = [];
  private headLength = 0;
  private settle!: { resolve: (t: PhotoContentType) => void; reject: (e: unknown) => void };

  constructor(private readonly maxBytes = MAX_PHOTO_BYTES) {
    super();
    this.detected = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.detected.catch(() => undefined);
    this.once("error", (err) => this.settle.reject(err));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return done(photoTooLarge());
    if (this.contentType) return done(null, chunk);
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength < HEAD_BYTES) return done();
    this.decide(done);
  }

  override _flush(done: TransformCallback) {
    if (this.contentType) return done();
    if (this.size === 0) return done(badRequest("The photo is empty"));
    this.decide(done);
  }

  private decide(done: TransformCallback) {
    const head = Buffer.concat(this.head);
    this.head = [];
    const type = sniffPhotoType(head);
    if (!type) return done(notAnImage());
    this.contentType = type;
    this.settle.resolve(type);
    done(null, head);
  }
}
