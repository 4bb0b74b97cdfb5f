/** Renders every error in the API's shape: {error: {code, message, status, details, requestId}}. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { STATUS_OF, type ErrorCode } from "../lib/errors";

export interface ApiError { code: ErrorCode; status: number; message: string; details?: unknown; retryAfter?: number }

const BODY_PARSER: Record<string, ApiError> = {
  "entity.parse.failed": { code: "BAD_REQUEST", status: 400, message: "The request body is not valid JSON" },
  "entity.too.large": { code: "PAYLOAD_TOO_LARGE", status: 413, message: "The request body is too large" },
  "encoding.unsupported": { code: "UNSUPPORTED_MEDIA_TYPE", status: 415, message: "The body's content encoding is not supported" },
  "charset.unsupported": { code: "UNSUPPORTED_MEDIA_TYPE", status: 415, message: "The body's charset is not supported" },
  "request.aborted": { code: "BAD_REQUEST", status: 400, message: "The request was aborted" },
};

const UNAVAILABLE = new Set(["SERVICE_NOT_FOUND", "SERVICE_NOT_AVAILABLE", "REQUEST_TIMEOUT", "REQUEST_SKIPPED", "REQUEST_REJECTED", "QUEUE_FULL", "SERVICE_UNAVAILABLE", "BROKER_OPTIONS", "NATS_ERROR"]);

export function toApiError(err: any): ApiError {
  if (err?.type && BODY_PARSER[err.type]) return BODY_PARSER[err.type];
  const type = String(err?.type ?? "");
  if (type === "VALIDATION_ERROR" && Array.isArray(err.data)) {
    return {
      code: "VALIDATION_ERROR",
      status: 400,
      message: "The request is not valid",
      details: err.data.map((d: any) => ({ field: String(d.field ?? ""), message: fieldMessage(d) })),
    };
  }
  if (type in STATUS_OF && typeof err?.code === "number") {
    const code = type as ErrorCode;
    return { code, status: STATUS_OF[code], message: String(err.message), details: err.data ?? undefined, retryAfter: err.data?.retryAfter };
  }
  if (type === "RATE_LIMIT") return { code: "RATE_LIMITED", status: 429, message: "Too many requests" };
  if (type === "NO_TOKEN" || type === "INVALID_TOKEN" || err?.code === 401) return { code: "UNAUTHENTICATED", status: 401, message: "Authentication is required" };
  if (err?.code === 404 && (type === "NOT_FOUND" || err?.name === "NotFoundError")) return { code: "NOT_FOUND", status: 404, message: "No such route" };
  if (UNAVAILABLE.has(type) || err?.code === 503) return { code: "SERVICE_UNAVAILABLE", status: 503, message: "A service is unavailable; nothing was changed, try again" };
  if (err?.code === 415 || type === "UNSUPPORTED_MEDIA_TYPE") return { code: "UNSUPPORTED_MEDIA_TYPE", status: 415, message: String(err.message) };
  return { code: "INTERNAL_ERROR", status: 500, message: "Something went wrong on our side" };
}

function fieldMessage(d: any): string {
  const m = String(d.message ?? "is not valid");
  // fastest-validator repeats the field name at the start: keep the message about the value.
  return m.replace(new RegExp(`^The '${escape(String(d.field))}' field `), "").replace(/^The '[^']*' field /, "");
}

function escape(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function sendApiError(req: IncomingMessage & { $requestId?: string }, res: ServerResponse, e: ApiError) {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ error: { code: e.code, message: e.message, status: e.status, details: e.details ?? {}, requestId: req.$requestId ?? "" } });
  res.statusCode = e.status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  if (e.retryAfter !== undefined) res.setHeader("Retry-After", String(e.retryAfter));
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.end(body);
}
