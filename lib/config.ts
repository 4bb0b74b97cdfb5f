/**
 * The one typed configuration object, built once from the environment.
 * Nothing else in the code base reads `process.env` (lint enforces it).
 * A bad value stops start-up with a message that names the variable.
 */
import path from "node:path";

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(value: string, variable: string): number {
  const m = DURATION.exec(value.trim());
  if (!m) throw new ConfigError(variable, `must be a duration like 30s, 15m, 24h or 7d (got "${value}")`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function int(env: Env, name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = read(env, name);
  if (raw === undefined) return def;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer (got "${raw}")`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${n})`);
  return n;
}

function duration(env: Env, name: string, def: string): number {
  return parseDuration(read(env, name) ?? def, name);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL (got "${raw}")`);
  }
  if (!protocols.includes(parsed.protocol.replace(/:$/, ""))) {
    throw new ConfigError(name, `must use ${protocols.join(" or ")}:// (got "${parsed.protocol}//")`);
  }
  return raw;
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], def: T): T {
  const raw = read(env, name) ?? def;
  if (!values.includes(raw as T)) throw new ConfigError(name, `must be one of ${values.join(", ")} (got "${raw}")`);
  return raw as T;
}

function timeZone(env: Env, name: string, def: string): string {
  const zone = read(env, name) ?? def;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
  } catch {
    throw new ConfigError(name, `must be an IANA time zone such as Asia/Seoul (got "${zone}")`);
  }
  return zone;
}

function list(env: Env, name: string): string[] {
  return (read(env, name) ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

export const ALL_SERVICES = ["gateway", "auth", "notifications", "kyc", "bookings", "payments", "driver-links", "vehicles", "trust"] as const;
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
const E164 = /^\+[1-9]\d{6,14}$/;

export function loadConfig(env: Env = process.env) {
  const transporter = url(env, "TRANSPORTER", ["nats"]);
  const mongoUrl = url(env, "MONGO_URL", ["mongodb", "mongodb+srv"]);
  const redisUrl = url(env, "REDIS_URL", ["redis", "rediss"]);
  const services = list(env, "SERVICES");
  for (const s of services) {
    if (!(ALL_SERVICES as readonly string[]).includes(s)) {
      throw new ConfigError("SERVICES", `names an unknown service "${s}" (known: ${ALL_SERVICES.join(", ")})`);
    }
  }
  const adminPhones = list(env, "ADMIN_PHONES");
  for (const p of adminPhones) if (!E164.test(p)) throw new ConfigError("ADMIN_PHONES", `has a phone that is not E.164: "${p}"`);

  const distributed = Boolean(transporter || mongoUrl || redisUrl);
  const jwtSecret = read(env, "JWT_SECRET");
  if (jwtSecret !== undefined && jwtSecret.length < 32) throw new ConfigError("JWT_SECRET", "must be at least 32 characters");
  if (distributed && !jwtSecret) {
    throw new ConfigError("JWT_SECRET", "is required in the distributed profile (every gateway and auth process must share it)");
  }
  const smsProvider = oneOf(env, "SMS_PROVIDER", ["dev", "http"] as const, "dev");
  const smsHttpUrl = url(env, "SMS_HTTP_URL", ["http", "https"]);
  if (smsProvider === "http" && !smsHttpUrl) throw new ConfigError("SMS_HTTP_URL", "is required when SMS_PROVIDER=http");

  return {
    profile: distributed ? ("distributed" as const) : ("embedded" as const),
    nodeId: read(env, "NODE_ID"),
    namespace: read(env, "NAMESPACE") ?? "carshare",
    port: int(env, "PORT", 3000, 0, 65535),
    /** Health and metrics listener of a process without the gateway (the gateway serves them on PORT); 0 disables it. */
    healthPort: int(env, "HEALTH_PORT", 3001, 0, 65535),
    dataDir: path.resolve(read(env, "DATA_DIR") ?? "./data"),
    publicUrl: (url(env, "PUBLIC_URL", ["http", "https"]) ?? "http://localhost:3000").replace(/\/+$/, ""),
    adminPhones,
    services: services.length ? services : [...ALL_SERVICES],
    transporter,
    mongoUrl,
    redisUrl,
    logLevel: oneOf(env, "LOG_LEVEL", LOG_LEVELS, "info"),
    corsOrigins: list(env, "CORS_ORIGINS"),
    bodyLimit: read(env, "BODY_LIMIT") ?? "1mb",
    rateLimitPerMinute: int(env, "RATE_LIMIT_PER_MINUTE", 100),
    otp: {
      phoneLimit: int(env, "OTP_PHONE_LIMIT", 3, 1),
      ipLimit: int(env, "OTP_IP_LIMIT", 30, 1),
      ttlMs: duration(env, "OTP_TTL", "5m"),
      maxAttempts: int(env, "OTP_MAX_ATTEMPTS", 5, 1),
    },
    jwt: {
      secret: jwtSecret,
      accessTtlMs: duration(env, "JWT_ACCESS_TTL", "15m"),
      refreshTtlMs: duration(env, "JWT_REFRESH_TTL", "30d"),
      issuer: read(env, "JWT_ISSUER") ?? "carshare",
    },
    sms: {
      provider: smsProvider,
      httpUrl: smsHttpUrl,
      httpToken: read(env, "SMS_HTTP_TOKEN"),
      sender: read(env, "SMS_SENDER") ?? "carshare",
      timeoutMs: duration(env, "SMS_HTTP_TIMEOUT", "5s"),
    },
    shutdownTimeoutMs: duration(env, "SHUTDOWN_TIMEOUT", "10s"),
    driverLinks: {
      /** A driver link expires this long after it was issued. */
      ttlMs: duration(env, "DRIVER_LINK_TTL", "48h"),
      /** Driver-link requests (page, summary, report) per IP per minute; 0 disables. */
      rateLimitPerMinute: int(env, "DRIVER_LINK_RATE_LIMIT", 30),
    },
    /** Zone of times shown to people (SMS, notifications, the driver page) and typed on the driver page. */
    displayTimezone: timeZone(env, "DISPLAY_TIMEZONE", "Asia/Seoul"),
    push: {
      /** "dev" appends to DATA_DIR/outbox/push.jsonl; an FCM adapter comes later. */
      provider: oneOf(env, "PUSH_PROVIDER", ["dev"] as const, "dev"),
    },
    /** Platform fee in basis points of a booking's total (1500 = 15 %). */
    platformFeeBps: int(env, "PLATFORM_FEE_BPS", 1500, 0, 10_000),
    geocoding: {
      /** Kakao Local REST API key; unset = no geocoding, vehicles need lat/lng. */
      kakaoRestKey: read(env, "KAKAO_REST_KEY"),
      kakaoBaseUrl: (url(env, "KAKAO_BASE_URL", ["http", "https"]) ?? "https://dapi.kakao.com").replace(/\/+$/, ""),
      /** One try's time limit; a lookup makes at most 3 tries. */
      timeoutMs: duration(env, "GEOCODING_TIMEOUT", "2s"),
    },
    trust: {
      /** A booking's ratings are revealed when both sides rated, or this long after it completed. */
      ratingRevealAfterMs: duration(env, "RATING_REVEAL_AFTER", "14d"),
      /** How often ratings past their reveal time are revealed (and the scores they change updated). */
      sweepIntervalMs: duration(env, "TRUST_SWEEP_INTERVAL", "1m"),
    },
    bookings: {
      /** An unanswered request expires after this long. */
      requestTtlMs: duration(env, "BOOKING_REQUEST_TTL", "24h"),
      /** Longest booking, in days. */
      maxDays: int(env, "BOOKING_MAX_DAYS", 30, 1, 366),
      /** Tries of one saga step before the saga compensates. */
      sagaAttempts: int(env, "BOOKING_SAGA_ATTEMPTS", 5, 1, 100),
      /** First retry delay of a saga step; doubles each time. */
      sagaBackoffMs: duration(env, "BOOKING_SAGA_BACKOFF", "500ms"),
      /** How often expiries, releases, facts and sagas are swept for anything a crash left behind. */
      sweepIntervalMs: duration(env, "BOOKING_SWEEP_INTERVAL", "1m"),
    },
  };
}

export type Config = ReturnType<typeof loadConfig>;

/**
 * The name of every variable loadConfig reads, recorded from a run on an empty
 * environment (deploy checks: an env file or ConfigMap must not set a name
 * nothing reads). A variable read only under some condition must also be read
 * unconditionally for it to be listed.
 */
export function configVariables(): string[] {
  const seen = new Set<string>();
  const recorder = new Proxy({} as Env, {
    get(_target, name) {
      if (typeof name === "string") seen.add(name);
      return undefined;
    },
  });
  loadConfig(recorder);
  return [...seen].sort();
}

let current: Config | undefined;

/** The process-wide configuration, built on first use. */
export function config(): Config {
  return (current ??= loadConfig());
}

/** Replace the configuration (tests, and the CLI after it parsed flags). */
export function setConfig(next: Config): Config {
  current = next;
  return next;
}
