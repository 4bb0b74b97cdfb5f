/**
 * One error hierarchy for the whole system. Services throw these; they travel
 * over the transporter as MoleculerErrors (`type` = API code, `code` = HTTP
 * status) and the gateway renders them in the API's error shape.
 */
import { Errors } from "moleculer";

export type ErrorCode =
  | "VALIDATION_ERROR" | "BAD_REQUEST"
  | "UNAUTHENTICATED" | "TOKEN_EXPIRED" | "INVALID_CREDENTIALS" | "OTP_INVALID"
  | "FORBIDDEN" | "KYC_REQUIRED"
  | "NOT_FOUND"
  | "CONFLICT" | "BOOKING_CONFLICT" | "INVALID_STATE" | "DUPLICATE"
  | "LINK_EXPIRED" | "LINK_USED" | "OTP_EXPIRED"
  | "PAYLOAD_TOO_LARGE" | "UNSUPPORTED_MEDIA_TYPE"
  | "RATE_LIMITED"
  | "INTERNAL_ERROR" | "SERVICE_UNAVAILABLE";

export const STATUS_OF: Record<ErrorCode, number> = {
  VALIDATION_ERROR: 400, BAD_REQUEST: 400,
  UNAUTHENTICATED: 401, TOKEN_EXPIRED: 401, INVALID_CREDENTIALS: 401, OTP_INVALID: 401,
  FORBIDDEN: 403, KYC_REQUIRED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409, BOOKING_CONFLICT: 409, INVALID_STATE: 409, DUPLICATE: 409,
  LINK_EXPIRED: 410, LINK_USED: 410, OTP_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413, UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500, SERVICE_UNAVAILABLE: 503,
};

export interface FieldError { field: string; message: string }

export class AppError extends Errors.MoleculerError {
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown> | FieldError[]) {
    const status = STATUS_OF[code];
    // 4xx are the caller's fault: Moleculer must not retry them.
    super(message, status, code, details);
    this.retryable = code === "SERVICE_UNAVAILABLE";
    this.name = "AppError";
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) => new AppError("BAD_REQUEST", message, details);
export const validationError = (errors: FieldError[]) => new AppError("VALIDATION_ERROR", "The request is not valid", errors);
export const unauthenticated = (message = "Authentication is required") => new AppError("UNAUTHENTICATED", message);
export const forbidden = (message = "You may not do this") => new AppError("FORBIDDEN", message);
export const notFound = (what: string) => new AppError("NOT_FOUND", `${what} was not found`);
export const conflict = (message: string, details?: Record<string, unknown>) => new AppError("CONFLICT", message, details);
export const duplicate = (message: string, details?: Record<string, unknown>) => new AppError("DUPLICATE", message, details);
export const invalidState = (message: string, details?: Record<string, unknown>) => new AppError("INVALID_STATE", message, details);
export const unavailable = (what: string) => new AppError("SERVICE_UNAVAILABLE", `${what} is unavailable; nothing was changed, try again`);

/** Raised by a store when a unique index rejects a write. */
export class DuplicateKeyError extends AppError {
  constructor(public readonly index: string) {
    super("DUPLICATE", `A record with the same ${index} already exists`, { index });
    this.name = "DuplicateKeyError";
  }
}
