/**
 * Access tokens: short-lived HS256 JWTs signed by auth, verified by the gateway.
 * In the embedded profile without JWT_SECRET a random secret is created once
 * and kept in DATA_DIR, so sessions survive a restart.
 */
import fs from "node:fs";
import path from "node:path";
import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { config } from "./config";
import { AppError } from "./errors";
import { newSecret } from "./ids";
import type { Role } from "./auth-types";

let cached: { dir: string; secret: string } | undefined;

export function signingSecret(): string {
  const cfg = config();
  if (cfg.jwt.secret) return cfg.jwt.secret;
  if (cached?.dir === cfg.dataDir) return cached.secret;
  const file = path.join(cfg.dataDir, "secrets", "jwt.key");
  let secret: string;
  try {
    secret = fs.readFileSync(file, "utf8").trim();
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    secret = newSecret(48);
    try {
      fs.writeFileSync(file, secret, { mode: 0o600, flag: "wx" });
    } catch {
      secret = fs.readFileSync(file, "utf8").trim(); // another process won the race
    }
  }
  cached = { dir: cfg.dataDir, secret };
  return secret;
}

let key: { secret: string; key: KeyObject } | undefined;

/**
 * The signing secret as a KeyObject, made once: handed a string, jsonwebtoken
 * first tries it as a PEM public key on every call, which cost 30 % of the CPU
 * of an authenticated request (bench/auth-me.ts, profiled).
 */
function signingKey(): KeyObject {
  const secret = signingSecret();
  if (key?.secret !== secret) key = { secret, key: createSecretKey(Buffer.from(secret, "utf8")) };
  return key.key;
}

/** Keyed hash for short secrets (OTP codes) that a plain hash would not protect. */
export function keyedHash(value: string): string {
  return createHmac("sha256", signingSecret()).update(value).digest("hex");
}

export interface AccessClaims { sub: string; sid: string; roles: Role[] }

export function signAccessToken(claims: AccessClaims): { token: string; expiresIn: number } {
  const cfg = config();
  const expiresIn = Math.floor(cfg.jwt.accessTtlMs / 1000);
  const token = jwt.sign({ sid: claims.sid, roles: claims.roles, typ: "access" }, signingKey(), {
    algorithm: "HS256",
    subject: claims.sub,
    issuer: cfg.jwt.issuer,
    expiresIn,
  });
  return { token, expiresIn };
}

export function verifyAccessToken(token: string): AccessClaims & { exp: number } {
  try {
    const p = jwt.verify(token, signingKey(), { algorithms: ["HS256"], issuer: config().jwt.issuer }) as jwt.JwtPayload;
    if (p.typ !== "access" || typeof p.sub !== "string" || typeof p.sid !== "string") throw new Error("not an access token");
    return { sub: p.sub, sid: p.sid, roles: (p.roles ?? []) as Role[], exp: p.exp ?? 0 };
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) throw new AppError("TOKEN_EXPIRED", "The access token has expired; refresh it");
    throw new AppError("UNAUTHENTICATED", "The access token is not valid");
  }
}

export const revokedSessionKey = (sid: string) => `auth:revoked:${sid}`;
