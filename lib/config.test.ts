/** Configuration: documented defaults, and a bad value stops start-up with a message naming the variable. */
import { loadConfig, ConfigError, parseDuration } from "./config";

test("when nothing is set, then the embedded profile with the documented defaults", () => {
  const cfg = loadConfig({});
  expect(cfg).toMatchObject({ profile: "embedded", port: 3000, publicUrl: "http://localhost:3000", rateLimitPerMinute: 100, logLevel: "info" });
  expect(cfg.otp).toEqual({ phoneLimit: 3, ipLimit: 30, ttlMs: 300_000, maxAttempts: 5 });
  expect(cfg.services).toContain("gateway");
});

test("when TRANSPORTER, MONGO_URL or REDIS_URL is set, then the distributed profile, which needs JWT_SECRET", () => {
  expect(() => loadConfig({ TRANSPORTER: "nats://127.0.0.1:4222" })).toThrow(/JWT_SECRET/);
  const cfg = loadConfig({ TRANSPORTER: "nats://127.0.0.1:4222", JWT_SECRET: "s".repeat(32), SERVICES: "auth,gateway" });
  expect(cfg.profile).toBe("distributed");
  expect(cfg.services).toEqual(["auth", "gateway"]);
});

test.each([
  ["PORT", "eighty", /PORT must be an integer/],
  ["PORT", "70000", /PORT must be between 0 and 65535/],
  ["TRANSPORTER", "amqp://x", /TRANSPORTER must use nats/],
  ["MONGO_URL", "not a url", /MONGO_URL must be a URL/],
  ["LOG_LEVEL", "loud", /LOG_LEVEL must be one of/],
  ["OTP_TTL", "5 minutes", /OTP_TTL must be a duration/],
  ["SERVICES", "auth,billing", /SERVICES names an unknown service "billing"/],
  ["ADMIN_PHONES", "010-1234-5678", /ADMIN_PHONES has a phone that is not E.164/],
  ["JWT_SECRET", "short", /JWT_SECRET must be at least 32 characters/],
  ["SMS_PROVIDER", "http", /SMS_HTTP_URL is required/],
])("when %s=%s, then start-up stops with a message naming it", (name, value, message) => {
  expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
  expect(() => loadConfig({ [name]: value })).toThrow(message);
});

test("when a duration is given, then its unit is honoured", () => {
  expect(parseDuration("250ms", "X")).toBe(250);
  expect(parseDuration("48h", "X")).toBe(172_800_000);
  expect(parseDuration("7d", "X")).toBe(604_800_000);
});
