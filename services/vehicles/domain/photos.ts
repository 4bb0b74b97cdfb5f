/** What a vehicle photo may be: JPEG, PNG or WebP by its content, at most 10 MB (lib/uploads.ts does the checking). */
import { UploadGuard, tooLarge, uploadStreamError, type UploadRules } from "../../../lib/uploads";

export { EXTENSION } from "../../../lib/uploads";

export const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"] as const;
export type PhotoContentType = (typeof PHOTO_TYPES)[number];
export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;

const PHOTO_RULES: UploadRules<PhotoContentType> = { accepted: PHOTO_TYPES, maxBytes: MAX_PHOTO_BYTES, noun: "photo", kinds: "a JPEG, PNG or WebP image" };

export const photoGuard = () => new UploadGuard(PHOTO_RULES);
export const photoTooLarge = () => tooLarge(PHOTO_RULES);
export const uploadError = (err: unknown) => uploadStreamError(err, PHOTO_RULES);
