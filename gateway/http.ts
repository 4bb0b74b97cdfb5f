/** Plain HTTP middlewares that run before routing: request id, security headers, rate limit. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { newId } from "../lib/ids";
import type { Kv } from "../lib/kv";
import { sendApiError } from "./errors";
import { countThisMinute } from "../lib/rate-limit";

export type Req = IncomingMessage & { $requestId?: string; $ip?: string };
type Next = (err?: unknown) => void;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function clientIp(req: Req, trustProxy: boolean): string {
  const fwd = req.headers["x-forwarded-for"];
  if (trustProxy && typeof fwd === "string" && fwd) return fwd.split(",")[0].trim();
  return req.socket.remoteAddress ?? "unknown";
}

export function requestContext(trustProxy: boolean) {
  return (req: Req, res: ServerResponse, next: Next) => {
    const given = req.headers["x-request-id"];
    req.$requestId = typeof given === "string" && REQUEST_ID.test(given) ? given : newId();
    req.headers["x-request-id"] = req.$requestId; // moleculer-web makes it the context's requestID
    req.$ip = clientIp(req, trustProxy);
    res.setHeader("X-Request-Id", req.$requestId);
    next();
  };
}

export function securityHeaders(_req: Req, res: ServerResponse, next: Next) {
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
  // JSON answers load nothing; HTML pages set their own, stricter-than-default policy.
  res.setHeader("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  next();
}

/** Fixed one-minute window per client IP, shared by all gateways through the key-value store. */
export function rateLimit(limitPerMinute: number, kv: () => Kv, warn: (msg: string) => void) {
  return async (req: Req, res: ServerResponse, next: Next) => {
    if (limitPerMinute <= 0 || req.url?.startsWith("/health/") || req.url === "/metrics") return next();
    const counted = await countThisMinute(kv(), `rl:${req.$ip}`, warn);
    if (!counted) return next();
    res.setHeader("X-RateLimit-Limit", String(limitPerMinute));
    res.setHeader("X-RateLimit-Remaining", String(Math.max(0, limitPerMinute - counted.count)));
    if (counted.count > limitPerMinute) {
      const { retryAfter } = counted;
      return sendApiError(req, res, { code: "RATE_LIMITED", status: 429, message: "Too many requests; slow down", retryAfter, details: { retryAfter } });
    }
    next();
  };
}
