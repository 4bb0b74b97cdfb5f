/** What a KYC document may be: JPEG, PNG or PDF by its content, at most 10 MB (lib/uploads.ts does the checking). */
import { UploadGuard, tooLarge as tooLargeFor, uploadStreamError as streamError, type UploadRules } from "../../../lib/uploads";

export { EXTENSION } from "../../../lib/uploads";

export const DOCUMENT_TYPES = ["application/pdf", "image/jpeg", "image/png"] as const;
export type DocumentContentType = (typeof DOCUMENT_TYPES)[number];
export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

export const documentRules = (maxBytes = MAX_DOCUMENT_BYTES): UploadRules<DocumentContentType> => ({ accepted: DOCUMENT_TYPES, maxBytes, noun: "file", kinds: "a JPEG, PNG or PDF" });

export const documentGuard = (maxBytes = MAX_DOCUMENT_BYTES) => new UploadGuard(documentRules(maxBytes));
export const tooLarge = (maxBytes = MAX_DOCUMENT_BYTES) => tooLargeFor(documentRules(maxBytes));
export const uploadStreamError = (err: unknown) => streamError(err, documentRules());
