import { randomBytes, createHash, timingSafeEqual } from "node:crypto";

/** Opaque, sortable-by-creation ids: 12 hex chars of time + 12 random. */
export function newId(): string {
  return Date.now().toString(16).padStart(12, "0") + randomBytes(6).toString("hex");
}

/** A secret for people or machines: `bytes` random bytes, base64url. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

export function sha256(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
