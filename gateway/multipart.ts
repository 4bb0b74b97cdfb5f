/**
 * Uploads through moleculer-web `multipart:` aliases: the busboy limits of the
 * `/v1` route, and the parser's own errors (which are plain Errors, or a
 * MoleculerClientError without a code) turned into the API's codes instead of 500.
 * The action behind the alias gets the file as a stream, and checks it again.
 */
import { AppError, validationError } from "../lib/errors";

export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** One file of at most 10 MB per request (moleculer-web then answers with one object, not an array). */
export const busboyConfig = {
  limits: { files: 1, fileSize: MAX_UPLOAD_BYTES, fields: 20, fieldSize: 16 * 1024, parts: 21, headerPairs: 50 },
};

const NOT_MULTIPART = /^(Missing Content-Type|Unsupported Content-Type|Multipart: Boundary not found)/i;
const MALFORMED = /(Unexpected end of multipart data|terminated early|Malformed part header)/i;

/** The API's error for what the multipart parser rejected; anything else unchanged. */
export function multipartError(err: any): unknown {
  if (!err || err.type) return err;
  const message = String(err.message ?? "");
  if (message === "File missing in the request") return validationError([{ field: "file", message: "is required: send the file as a multipart part named `file`" }]);
  if (NOT_MULTIPART.test(message)) return new AppError("UNSUPPORTED_MEDIA_TYPE", "Send the upload as multipart/form-data with a boundary");
  if (MALFORMED.test(message)) return new AppError("BAD_REQUEST", "The multipart body is malformed or incomplete");
  return err;
}
