/** Auth through the real gateway, embedded profile: what a new user of the API sees. */
import { loginByOtp, newPhone, otpFor, startSystem, type TestSystem } from "../../test/support/system";

let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem({ OTP_PHONE_LIMIT: "3", OTP_IP_LIMIT: "1000" });
});
afterAll(() => sys.stop());

describe("phone OTP", () => {
  test("when a code is requested, then a 6-digit code is written to the SMS outbox and 202 says when it expires", async () => {
    const phone = newPhone();
    const since = Date.now() - 1;
    const res = await sys.api.post("/v1/auth/otp/request", { phone });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ expiresIn: 300 });
    expect(await otpFor(sys.dataDir, phone, since)).toMatch(/^\d{6}$/);
  });

  test("when the right code is verified, then tokens and a new renter come back, and /me works with the token", async () => {
    const s = await loginByOtp(sys);
    expect(s.user).toMatchObject({ phone: s.phone, roles: ["renter"], status: "active", kycStatus: "none" });
    expect(typeof s.accessToken).toBe("string");
    const me = await sys.api.get("/v1/auth/me", s.accessToken);
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(s.user.id);
  });

  test("when the same phone logs in twice, then it is the same user", async () => {
    const a = await loginByOtp(sys);
    const b = await loginByOtp(sys, a.phone);
    expect(b.user.id).toBe(a.user.id);
  });

  test("when a wrong code is given, then 401 OTP_INVALID, and after 5 wrong tries even the right code is refused", async () => {
    const phone = newPhone();
    const since = Date.now() - 1;
    await sys.api.post("/v1/auth/otp/request", { phone });
    const code = await otpFor(sys.dataDir, phone, since);
    const wrong = code === "000000" ? "111111" : "000000";
    for (let i = 0; i < 5; i++) {
      const r = await sys.api.post("/v1/auth/otp/verify", { phone, code: wrong });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("OTP_INVALID");
    }
    const r = await sys.api.post("/v1/auth/otp/verify", { phone, code });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("OTP_INVALID");
  });

  test("when a code is used once, then it cannot be used again", async () => {
    const phone = newPhone();
    const since = Date.now() - 1;
    await sys.api.post("/v1/auth/otp/request", { phone });
    const code = await otpFor(sys.dataDir, phone, since);
    expect((await sys.api.post("/v1/auth/otp/verify", { phone, code })).status).toBe(200);
    const again = await sys.api.post("/v1/auth/otp/verify", { phone, code });
    expect(again.status).toBe(401);
  });

  test("when one phone asks for codes too often, then 429 RATE_LIMITED with Retry-After", async () => {
    const phone = newPhone();
    for (let i = 0; i < 3; i++) expect((await sys.api.post("/v1/auth/otp/request", { phone })).status).toBe(202);
    const r = await sys.api.post("/v1/auth/otp/request", { phone });
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe("RATE_LIMITED");
    const retryAfter = Number(r.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(600);
  });

  test("when the phone is not E.164, then 400 VALIDATION_ERROR names the field", async () => {
    const r = await sys.api.post("/v1/auth/otp/request", { phone: "010-1234-5678" });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_ERROR");
    expect(r.body.error.details).toEqual([expect.objectContaining({ field: "phone" })]);
  });
});

describe("email and password", () => {
  const email = () => `user${Math.random().toString(36).slice(2)}@example.com`;

  test("when a user registers, then 201 with tokens, and logging in with the password works", async () => {
    const e = email();
    const reg = await sys.api.post("/v1/auth/register", { email: e, password: "correct horse battery", name: "Kim", phone: newPhone(), role: "host" });
    expect(reg.status).toBe(201);
    expect(reg.body.user).toMatchObject({ email: e, name: "Kim", roles: ["renter", "owner"] });
    expect(reg.body.refreshToken).toBeTruthy();
    const login = await sys.api.post("/v1/auth/login", { email: e.toUpperCase(), password: "correct horse battery" });
    expect(login.status).toBe(200);
    expect(login.body.user.id).toBe(reg.body.user.id);
  });

  test("when the password is wrong or the email unknown, then 401 INVALID_CREDENTIALS", async () => {
    const e = email();
    await sys.api.post("/v1/auth/register", { email: e, password: "correct horse battery", name: "Lee", phone: newPhone() });
    for (const body of [{ email: e, password: "wrong password!" }, { email: email(), password: "correct horse battery" }]) {
      const r = await sys.api.post("/v1/auth/login", body);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("INVALID_CREDENTIALS");
    }
  });

  test("when the email or phone is taken, then 409 DUPLICATE and no half-made account remains", async () => {
    const e = email();
    const phone = newPhone();
    expect((await sys.api.post("/v1/auth/register", { email: e, password: "correct horse battery", name: "A", phone })).status).toBe(201);
    const sameEmail = await sys.api.post("/v1/auth/register", { email: e, password: "correct horse battery", name: "B", phone: newPhone() });
    expect(sameEmail.status).toBe(409);
    expect(sameEmail.body.error.code).toBe("DUPLICATE");
    const e2 = email();
    const samePhone = await sys.api.post("/v1/auth/register", { email: e2, password: "correct horse battery", name: "C", phone });
    expect(samePhone.status).toBe(409);
    // The email of the refused attempt was not kept: it can register now.
    expect((await sys.api.post("/v1/auth/register", { email: e2, password: "correct horse battery", name: "C", phone: newPhone() })).status).toBe(201);
  });

  test("when the body is invalid, then 400 VALIDATION_ERROR lists every bad field", async () => {
    const r = await sys.api.post("/v1/auth/register", { email: "nope", password: "short", name: "", phone: "123" });
    expect(r.status).toBe(400);
    const fields = r.body.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(expect.arrayContaining(["email", "password", "phone"]));
  });
});

describe("sessions", () => {
  test("when a refresh token is used, then a new pair comes back; when the old one is reused, then the whole session is revoked", async () => {
    const s = await loginByOtp(sys);
    const first = await sys.api.post("/v1/auth/refresh", { refreshToken: s.refreshToken });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(s.refreshToken);
    expect((await sys.api.get("/v1/auth/me", first.body.accessToken)).status).toBe(200);

    const reuse = await sys.api.post("/v1/auth/refresh", { refreshToken: s.refreshToken });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe("UNAUTHENTICATED");
    // The family is gone: the newest refresh token and the access tokens stop working.
    expect((await sys.api.post("/v1/auth/refresh", { refreshToken: first.body.refreshToken })).status).toBe(401);
    expect((await sys.api.get("/v1/auth/me", first.body.accessToken)).status).toBe(401);
  });

  test("when a user logs out, then 204 and the access and refresh tokens stop working", async () => {
    const s = await loginByOtp(sys);
    const out = await sys.api.post("/v1/auth/logout", {}, s.accessToken);
    expect(out.status).toBe(204);
    expect(out.text).toBe("");
    const me = await sys.api.get("/v1/auth/me", s.accessToken);
    expect(me.status).toBe(401);
    expect((await sys.api.post("/v1/auth/refresh", { refreshToken: s.refreshToken })).status).toBe(401);
  });

  test("when a logged-in user has another session, then logging out of one leaves the other working", async () => {
    const a = await loginByOtp(sys);
    const b = await loginByOtp(sys, a.phone);
    await sys.api.post("/v1/auth/logout", {}, a.accessToken);
    expect((await sys.api.get("/v1/auth/me", b.accessToken)).status).toBe(200);
  });
});

describe("the user", () => {
  test("when a renter becomes an owner, then /me shows both roles at once", async () => {
    const s = await loginByOtp(sys);
    const r = await sys.api.post("/v1/auth/me/roles", { role: "owner" }, s.accessToken);
    expect(r.status).toBe(200);
    expect(r.body.roles).toEqual(["renter", "owner"]);
    expect((await sys.api.get("/v1/auth/me", s.accessToken)).body.roles).toEqual(["renter", "owner"]);
  });

  test("when someone asks for the admin role, then 403 FORBIDDEN", async () => {
    const s = await loginByOtp(sys);
    const r = await sys.api.post("/v1/auth/me/roles", { role: "admin" }, s.accessToken);
    expect(r.status).toBe(400); // not an accepted role value
    expect(r.body.error.code).toBe("VALIDATION_ERROR");
  });

  test("when the profile is changed, then /me shows it and the new email logs in nowhere else", async () => {
    const s = await loginByOtp(sys);
    const r = await sys.api.patch("/v1/auth/me", { name: "Park", email: "park@example.com" }, s.accessToken);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: "Park", email: "park@example.com" });
    const other = await loginByOtp(sys);
    const clash = await sys.api.patch("/v1/auth/me", { email: "PARK@example.com" }, other.accessToken);
    expect(clash.status).toBe(409);
  });
});
