/** The gateway's behaviour for every request, whatever the route: errors, headers, limits, health, docs. */
import http from "node:http";
import { loginByOtp, startSystem, type TestSystem } from "../test/support/system";

let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem({ CORS_ORIGINS: "https://app.example.com", BODY_LIMIT: "2kb" });
});
afterAll(() => sys.stop());

function expectErrorShape(body: any, code: string, status: number) {
  expect(body).toEqual({ error: { code, message: expect.any(String), status, details: expect.anything(), requestId: expect.any(String) } });
}

test("when a route does not exist, then 404 NOT_FOUND in the error shape", async () => {
  const r = await sys.api.get("/v1/nothing/here");
  expect(r.status).toBe(404);
  expectErrorShape(r.body, "NOT_FOUND", 404);
  expect(r.body.error.requestId).toBe(r.headers.get("x-request-id"));
});

test("when the JSON is malformed, then 400 BAD_REQUEST", async () => {
  const r = await sys.api.request("POST", "/v1/auth/login", { raw: '{"email": "a@b.c", ', headers: { "content-type": "application/json" } });
  expect(r.status).toBe(400);
  expectErrorShape(r.body, "BAD_REQUEST", 400);
});

test("when the body is larger than the limit, then 413 PAYLOAD_TOO_LARGE", async () => {
  const r = await sys.api.request("POST", "/v1/auth/login", { body: { email: "a@b.c", password: "x".repeat(5000) } });
  expect(r.status).toBe(413);
  expectErrorShape(r.body, "PAYLOAD_TOO_LARGE", 413);
});

test("when the body is not JSON, then 415 UNSUPPORTED_MEDIA_TYPE", async () => {
  const r = await sys.api.request("POST", "/v1/auth/login", { raw: "email=a@b.c", headers: { "content-type": "text/plain" } });
  expect(r.status).toBe(415);
  expectErrorShape(r.body, "UNSUPPORTED_MEDIA_TYPE", 415);
});

test("when no token is sent to a protected route, then 401 UNAUTHENTICATED; a garbage token too", async () => {
  const none = await sys.api.get("/v1/auth/me");
  expect(none.status).toBe(401);
  expectErrorShape(none.body, "UNAUTHENTICATED", 401);
  const bad = await sys.api.get("/v1/auth/me", "not.a.jwt");
  expect(bad.status).toBe(401);
  expect(bad.body.error.code).toBe("UNAUTHENTICATED");
});

test("when an expired token is sent, then 401 TOKEN_EXPIRED", async () => {
  const jwt = await import("jsonwebtoken");
  const { signingSecret } = await import("../lib/tokens");
  const token = jwt.sign({ sid: "s", roles: ["renter"], typ: "access" }, signingSecret(), { subject: "u", issuer: "carshare", expiresIn: -10 });
  const r = await sys.api.get("/v1/auth/me", token);
  expect(r.status).toBe(401);
  expect(r.body.error.code).toBe("TOKEN_EXPIRED");
});

test("when a request id is given, then it is echoed; otherwise one is made", async () => {
  const given = await sys.api.request("GET", "/health/live", { headers: { "x-request-id": "trace-123" } });
  expect(given.headers.get("x-request-id")).toBe("trace-123");
  const made = await sys.api.get("/health/live");
  expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f]{24}$/);
});

test("when any answer leaves, then it carries the security headers", async () => {
  const r = await sys.api.get("/v1/auth/me");
  expect(r.headers.get("x-content-type-options")).toBe("nosniff");
  expect(r.headers.get("x-frame-options")).toBe("DENY");
  expect(r.headers.get("strict-transport-security")).toContain("max-age=");
  expect(r.headers.get("content-security-policy")).toContain("default-src 'none'");
});

test("when a configured origin asks, then CORS allows it; another origin is not allowed", async () => {
  const ok = await sys.api.request("OPTIONS", "/v1/auth/login", { headers: { origin: "https://app.example.com", "access-control-request-method": "POST" } });
  expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
  const other = await sys.api.request("GET", "/health/live", { headers: { origin: "https://evil.example.com" } });
  expect(other.headers.get("access-control-allow-origin")).toBeNull();
});

test("when the system is up, then live and ready answer 200 with each check", async () => {
  expect((await sys.api.get("/health/live")).body).toEqual({ status: "ok" });
  const ready = await sys.api.get("/health/ready");
  expect(ready.status).toBe(200);
  expect(ready.body.status).toBe("ready");
  expect(ready.body.checks).toMatchObject({ transporter: "ok", "auth.db": "ok", "notifications.queue": "ok" });
});

test("when metrics are scraped, then Prometheus text with Moleculer's request counters comes back", async () => {
  await sys.api.get("/health/live");
  const s = await loginByOtp(sys);
  await sys.api.get("/v1/auth/me", s.accessToken);
  const r = await sys.api.get("/metrics");
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toContain("text/plain");
  expect(r.text).toMatch(/^# HELP moleculer_request_total/m);
  expect(r.text).toContain('action="auth.me"');
});

test("when the OpenAPI document is asked for, then it lists the routes with their bodies and security", async () => {
  const r = await sys.api.get("/v1/openapi.json");
  expect(r.status).toBe(200);
  expect(r.body.openapi).toBe("3.0.3");
  const verify = r.body.paths["/v1/auth/otp/verify"].post;
  expect(verify.security).toBeUndefined();
  expect(verify.requestBody.content["application/json"].schema).toMatchObject({ type: "object", required: ["phone", "code"], properties: { code: { type: "string", pattern: "^\\d{6}$" } } });
  expect(r.body.paths["/v1/auth/me"].get.security).toEqual([{ bearerAuth: [] }]);
});

test("when a client sends more than the limit per minute, then 429 RATE_LIMITED with Retry-After", async () => {
  const limited = await startSystem({ RATE_LIMIT_PER_MINUTE: "5" });
  // The window is the clock minute: do not straddle its end.
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 3000) await new Promise((r) => setTimeout(r, left + 50));
  try {
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push((await limited.api.get("/v1/auth/me")).status);
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes.slice(5)).toEqual([429, 429]);
    const r = await limited.api.get("/v1/auth/me");
    expectErrorShape(r.body, "RATE_LIMITED", 429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  } finally {
    await limited.stop();
  }
});

test("when a request is in flight at shutdown, then it still completes", async () => {
  const other = await startSystem();
  const s = await loginByOtp(other);
  const url = new URL(other.url + "/v1/auth/me");
  const pending = new Promise<number>((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${s.accessToken}` } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
  const stopping = other.stop();
  expect(await pending).toBe(200);
  await stopping;
});
