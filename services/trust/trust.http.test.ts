/**
 * Ratings, trust scores, flags, overrides, analytics and the admin user
 * actions through the real gateway, embedded profile. Bookings, payments and
 * KYC are told to trust the way those services tell it: by publishing their
 * facts (payload types and ids of lib/events.ts), here straight on the broker.
 */
import type { Fact } from "../../lib/events";
import { sendFact } from "../../lib/facts";
import { loginByOtp, newPhone, startSystem, waitFor, type Session, type TestSystem } from "../../test/support/system";
import type { Trust } from "./domain/trust";
import { bookingFacts, kycFact, randomHistory, reportFacts, type BookingStory } from "./test/facts";

jest.setTimeout(60_000);

const DAY = 86_400_000;
const ADMIN_PHONE = newPhone();
let sys: TestSystem;
let trust: Trust;
let admin: Session;
let owner: Session;
let renter: Session;
let stranger: Session;
const updates: Fact<any>[] = [];

beforeAll(async () => {
  sys = await startSystem({ ADMIN_PHONES: ADMIN_PHONE, SERVICES: "gateway,auth,notifications,bookings,payments,trust", OTP_PHONE_LIMIT: "20" });
  trust = (sys.broker.getLocalService("trust") as any).trust;
  sys.broker.createService({ name: "trustSpy", channels: { "trust.updated": (f: Fact<any>) => void updates.push(f) } } as any);
  await sys.broker.waitForServices(["trustSpy"]);
  [admin, owner, renter, stranger] = await Promise.all([loginByOtp(sys, ADMIN_PHONE), loginByOtp(sys), loginByOtp(sys), loginByOtp(sys)]);
});
afterAll(() => sys.stop());

let seq = 0;
/** A booking story between the test's renter and owner; `path` defaults to a whole trip. */
function story(over: Partial<BookingStory> = {}): BookingStory {
  seq++;
  return { bookingId: `bk-${Date.now().toString(36)}-${seq}`, vehicleId: `veh-${seq}`, renterId: renter.user.id, ownerId: owner.user.id, driverId: `drv-${seq}`, path: ["requested", "accepted", "confirmed", "active", "completed"], at: Date.now() - 10 * 60_000, ...over };
}

/** Publishes facts as their services do, and waits until trust has consumed them. */
async function deliver(facts: Fact<any>[]) {
  for (const f of facts) await sendFact(sys.broker, f);
  await waitFor(async () => (await trust.log.count({ _id: { $in: facts.map((f) => f.id) } })) === new Set(facts.map((f) => f.id)).size, `trust to log ${facts.length} facts`);
  // Logged comes before applied and settled: wait for the handler to finish too.
  await waitFor(async () => (await (sys.broker.getLocalService("trust") as any).db.collection("processed_facts").count({ _id: { $in: facts.map((f) => f.id) } })) === new Set(facts.map((f) => f.id)).size, "trust to settle");
}

const rate = (s: Session, bookingId: string, body: unknown) => sys.api.post(`/v1/bookings/${bookingId}/ratings`, body, s.accessToken);

describe("rating a trip", () => {
  test("when the trip is completed, then the renter rates the vehicle once (201, then 409), a 9 is refused (400), a stranger too (403)", async () => {
    const s = story();
    await deliver(bookingFacts(s));
    const first = await rate(renter, s.bookingId, { target: "vehicle", score: 5, categories: { cleanliness: 5, punctuality: 4 }, comment: "Clean and on time", recommend: true });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ id: `${s.bookingId}:${renter.user.id}:vehicle`, bookingId: s.bookingId, target: "vehicle", subjectType: "vehicle", subjectId: s.vehicleId, score: 5, raterRole: "renter", revealed: false });

    const again = await rate(renter, s.bookingId, { target: "vehicle", score: 1 });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("DUPLICATE");

    const nine = await rate(renter, s.bookingId, { target: "owner", score: 9 });
    expect(nine.status).toBe(400);
    expect(nine.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: [expect.objectContaining({ field: "score" })] });
    expect((await rate(renter, s.bookingId, { target: "owner", score: 4.5 })).status).toBe(400);
    expect((await rate(renter, s.bookingId, { target: "owner", score: 4, categories: { smell: 2 } })).status).toBe(400);
    expect((await rate(renter, s.bookingId, { target: "owner", score: 4, comment: "x".repeat(1001) })).status).toBe(400);

    const foreign = await rate(stranger, s.bookingId, { target: "vehicle", score: 5 });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe("FORBIDDEN");
    expect((await rate(owner, s.bookingId, { target: "vehicle", score: 5 })).status).toBe(403);
    expect((await sys.api.post(`/v1/bookings/${s.bookingId}/ratings`, { target: "vehicle", score: 5 })).status).toBe(401);
  });

  test("when the trip is not completed yet, then rating it is 409 INVALID_STATE; an unknown booking is 404", async () => {
    const s = story({ path: ["requested", "accepted", "confirmed", "active"] });
    await deliver(bookingFacts(s));
    const early = await rate(renter, s.bookingId, { target: "vehicle", score: 5 });
    expect(early.status).toBe(409);
    expect(early.body.error).toMatchObject({ code: "INVALID_STATE", details: { status: "active" } });
    expect((await rate(renter, "bk-never-seen", { target: "vehicle", score: 5 })).status).toBe(404);
    const noDriver = story({ driverId: null });
    await deliver(bookingFacts(noDriver));
    expect((await rate(renter, noDriver.bookingId, { target: "driver", score: 5 })).status).toBe(400);
  });

  test("when both sides rated, then the ratings appear together in the vehicle's, the owner's and the renter's lists with averages", async () => {
    const s = story();
    await deliver(bookingFacts(s));
    expect((await rate(renter, s.bookingId, { target: "vehicle", score: 4, categories: { cleanliness: 3 } })).status).toBe(201);
    expect((await rate(renter, s.bookingId, { target: "owner", score: 5, recommend: true })).status).toBe(201);

    // Hidden from everyone but the rater until the owner rates too.
    expect((await sys.api.get(`/v1/vehicles/${s.vehicleId}/ratings`)).body).toMatchObject({ items: [], nextCursor: null, summary: { count: 0, average: null } });
    expect((await sys.api.get(`/v1/bookings/${s.bookingId}/ratings`, owner.accessToken)).body.items).toEqual([]);
    expect((await sys.api.get(`/v1/bookings/${s.bookingId}/ratings`, renter.accessToken)).body.items).toHaveLength(2);
    expect((await sys.api.get(`/v1/bookings/${s.bookingId}/ratings`, stranger.accessToken)).status).toBe(403);

    const back = await rate(owner, s.bookingId, { target: "renter", score: 5, comment: "Returned it full" });
    expect(back.status).toBe(201);
    expect(back.body.revealed).toBe(true);

    const vehicle = await sys.api.get(`/v1/vehicles/${s.vehicleId}/ratings`);
    expect(vehicle.status).toBe(200);
    expect(vehicle.body.items).toEqual([expect.objectContaining({ bookingId: s.bookingId, score: 4, categories: { cleanliness: 3 }, revealed: true })]);
    expect(vehicle.body.summary).toMatchObject({ count: 1, average: 4, bayesian: 4, categories: { cleanliness: 3 } });
    const ownerList = await sys.api.get(`/v1/users/${owner.user.id}/ratings`);
    expect(ownerList.body.items.map((r: any) => [r.target, r.score])).toEqual([["owner", 5]]);
    const renterList = await sys.api.get(`/v1/users/${renter.user.id}/ratings?limit=1`);
    expect(renterList.body.items).toEqual([expect.objectContaining({ target: "renter", score: 5, comment: "Returned it full" })]);
    expect((await sys.api.get(`/v1/bookings/${s.bookingId}/ratings`, owner.accessToken)).body.items).toHaveLength(3);

    // The owner's trust now counts the revealed rating.
    const ownerTrust = await sys.api.get(`/v1/users/${owner.user.id}/trust`, stranger.accessToken);
    expect(ownerTrust.body.components.ratings).toMatchObject({ count: 1, average: 5 });
  });

  test("when nobody answers a rating for 14 days, then it is revealed (an injected clock moves time)", async () => {
    const s = story();
    await deliver(bookingFacts(s));
    expect((await rate(renter, s.bookingId, { target: "driver", score: 2, comment: "Late" })).status).toBe(201);
    expect((await sys.broker.call<any>("trust.sweep")).revealed).toBe(0);
    expect((await sys.api.get(`/v1/drivers/${s.driverId}/ratings`)).body.items).toEqual([]);
    trust.clock.now = () => Date.now() + 14 * DAY + 60_000;
    try {
      // This one, and any other test's rating still waiting for its other side.
      expect((await sys.broker.call<any>("trust.sweep")).revealed).toBeGreaterThanOrEqual(1);
    } finally {
      trust.clock.now = Date.now;
    }
    const list = await sys.api.get(`/v1/drivers/${s.driverId}/ratings`);
    expect(list.body.items).toEqual([expect.objectContaining({ score: 2, comment: "Late", revealed: true })]);
    expect((await sys.api.get(`/v1/drivers/${s.driverId}/trust`, renter.accessToken)).body.components.ratings).toMatchObject({ count: 1, average: 2 });
  });

  test("when a list has more than a page, then the cursor walks it newest first", async () => {
    const vehicleId = `veh-paged-${Date.now()}`;
    for (let i = 0; i < 3; i++) {
      const s = story({ vehicleId });
      await deliver(bookingFacts(s));
      await rate(renter, s.bookingId, { target: "vehicle", score: 3 + i });
      await rate(owner, s.bookingId, { target: "renter", score: 5 });
    }
    const p1 = await sys.api.get(`/v1/vehicles/${vehicleId}/ratings?limit=2`);
    expect(p1.body.items.map((r: any) => r.score)).toEqual([5, 4]);
    expect(p1.body.summary).toMatchObject({ count: 3, average: 4 });
    const p2 = await sys.api.get(`/v1/vehicles/${vehicleId}/ratings?limit=2&cursor=${p1.body.nextCursor}`);
    expect(p2.body).toMatchObject({ items: [expect.objectContaining({ score: 3 })], nextCursor: null });
    expect((await sys.api.get(`/v1/vehicles/${vehicleId}/ratings?cursor=bad`)).status).toBe(400);
  });
});

describe("trust scores", () => {
  test("when a trip completes, then the owner's and the driver's trust show a score with its components, updated within a second and announced", async () => {
    const s = story();
    const kyc = [kycFact(owner.user.id, "submitted", 1, Date.now() - 60_000), kycFact(owner.user.id, "approved", 2)];
    const pay = { paymentId: `pay-${s.bookingId}`, bookingId: s.bookingId, renterId: renter.user.id, ownerId: owner.user.id, driverId: s.driverId!, amount: 30_000 };
    const sent = Date.now();
    await deliver([...kyc, ...bookingFacts(s), ...reportFacts(pay, `lnk-${s.bookingId}`, { paid: true })]);
    expect(Date.now() - sent).toBeLessThan(5000);

    const mine = await sys.api.get(`/v1/users/me/trust`, owner.accessToken);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ subjectType: "user", subjectId: owner.user.id, score: expect.any(Number), effectiveScore: mine.body.score });
    expect(mine.body.components).toMatchObject({
      kyc: { status: "approved", value: 1, weight: 20 },
      completionRate: { completed: expect.any(Number), weight: 25 },
      paymentAccuracy: { weight: 20 },
      disputes: { openFlags: 0, value: 1, weight: 15 },
      ratings: { weight: 20 },
    });
    expect(mine.body.components.completionRate.completed).toBeGreaterThanOrEqual(1);
    expect(mine.body.score).toBeGreaterThanOrEqual(0);
    expect(mine.body.score).toBeLessThanOrEqual(100);

    const driver = await sys.api.get(`/v1/drivers/${s.driverId}/trust`, renter.accessToken);
    expect(driver.body).toMatchObject({ subjectType: "driver", subjectId: s.driverId, components: { kyc: { weight: 0, status: null }, completionRate: { completed: 1, failed: 0 }, paymentAccuracy: { reports: 1, accurate: 1 } } });
    await waitFor(() => updates.find((f) => f.data.subjectType === "driver" && f.data.subjectId === s.driverId), "the driver's trust.updated", 2000);
    expect((await sys.api.get(`/v1/users/${owner.user.id}/trust`)).status).toBe(401);
  });

  test("when the same facts are delivered twice (same ids), then nothing is counted twice", async () => {
    const s = story({ driverId: null, total: 77_000 });
    const pay = { paymentId: `pay-${s.bookingId}`, bookingId: s.bookingId, renterId: renter.user.id, ownerId: owner.user.id, driverId: null, amount: 77_000 };
    const before = (await sys.api.get(`/v1/users/${renter.user.id}/trust`, renter.accessToken)).body.components.completionRate.completed;
    const today = new Date().toISOString().slice(0, 10);
    const revenue = async () => (await sys.api.get(`/v1/admin/analytics?from=${today}&to=${today}`, admin.accessToken)).body.revenue.find((r: any) => r.currency === "KRW") ?? { payments: 0, gross: 0 };
    const revenueBefore = await revenue();
    const facts = [...bookingFacts(s), ...reportFacts(pay, "lnk-twice", { paid: true, amount: 70_000 })];
    await deliver(facts);
    await deliver(facts);
    // And once more behind the consumer's own dedupe, as a crash before it recorded the fact would.
    for (const f of facts) await trust.consume(f);
    expect((await sys.api.get(`/v1/users/${renter.user.id}/trust`, renter.accessToken)).body.components.completionRate.completed).toBe(before + 1);
    const after = await revenue();
    expect(after.payments - revenueBefore.payments).toBe(1);
    expect(after.gross - revenueBefore.gross).toBe(77_000);
    expect(after.reported - revenueBefore.reported).toBe(70_000);
  });
});

describe("admin", () => {
  test("when an admin asks for analytics, then the completed booking and its revenue are there; non-admins get 403", async () => {
    const s = story({ total: 120_000 });
    const pay = { paymentId: `pay-${s.bookingId}`, bookingId: s.bookingId, renterId: renter.user.id, ownerId: owner.user.id, driverId: s.driverId!, amount: 120_000 };
    const today = new Date().toISOString().slice(0, 10);
    const url = `/v1/admin/analytics?from=${today}&to=${today}`;
    const before = (await sys.api.get(url, admin.accessToken)).body;
    await deliver([...bookingFacts(s), ...reportFacts(pay, `lnk-${s.bookingId}`, { paid: true }, Date.now())]);
    const a = await sys.api.get(url, admin.accessToken);
    expect(a.status).toBe(200);
    expect(a.body.bookings.byStatus.completed).toBe(before.bookings.byStatus.completed + 1);
    expect(a.body.bookings.completionRate).toBeGreaterThan(0);
    const krw = a.body.revenue.find((r: any) => r.currency === "KRW");
    const krwBefore = before.revenue.find((r: any) => r.currency === "KRW") ?? { gross: 0, platformFee: 0 };
    expect(krw.gross - krwBefore.gross).toBe(120_000);
    expect(krw.platformFee - krwBefore.platformFee).toBe(18_000);
    expect(a.body.driverReliability.reports).toBe(before.driverReliability.reports + 1);
    expect(a.body.driverReliability.onTime).toBe(before.driverReliability.onTime + 1);
    expect(a.body.paymentAccuracy.rate).toBeGreaterThan(0);
    expect(a.body.kyc).toMatchObject({ queue: expect.any(Number), approved: expect.any(Number) });
    const daily = await sys.api.get(`${url}&daily=true`, admin.accessToken);
    expect(daily.body.daily).toEqual([expect.objectContaining({ day: today })]);

    for (const who of [owner, renter]) {
      const r = await sys.api.get(url, who.accessToken);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe("FORBIDDEN");
    }
    for (const path of ["/v1/admin/users", "/v1/admin/bookings", "/v1/admin/payments", "/v1/admin/flags"]) expect((await sys.api.get(path, owner.accessToken)).status).toBe(403);
    expect((await sys.api.get("/v1/admin/analytics?from=2026-02-10&to=2026-01-01", admin.accessToken)).status).toBe(400);
    expect((await sys.api.get("/v1/admin/analytics?from=yesterday", admin.accessToken)).status).toBe(400);
    expect((await sys.api.get("/v1/admin/analytics?from=2020-01-01&to=2026-01-01", admin.accessToken)).status).toBe(400);
  });

  test("when an admin flags a user, then the user's score drops and the flag shows in its components; resolving it lifts it; both audited", async () => {
    const target = await loginByOtp(sys);
    const before = (await sys.api.get(`/v1/users/${target.user.id}/trust`, target.accessToken)).body;
    expect((await sys.api.post("/v1/admin/flags", { subjectType: "user", subjectId: target.user.id, reason: "Reported for abuse" }, owner.accessToken)).status).toBe(403);
    const flag = await sys.api.post("/v1/admin/flags", { subjectType: "user", subjectId: target.user.id, reason: "Reported for abuse" }, admin.accessToken);
    expect(flag.status).toBe(201);
    expect(flag.body).toMatchObject({ id: expect.any(String), subjectType: "user", subjectId: target.user.id, status: "open", createdBy: admin.user.id });
    const flagged = (await sys.api.get(`/v1/users/${target.user.id}/trust`, target.accessToken)).body;
    expect(flagged.score).toBeLessThan(before.score);
    expect(flagged.components.disputes).toMatchObject({ openFlags: 1, value: 0.5 });

    const open = await sys.api.get("/v1/admin/flags?status=open", admin.accessToken);
    expect(open.body.items.map((f: any) => f.id)).toContain(flag.body.id);
    const resolved = await sys.api.post(`/v1/admin/flags/${flag.body.id}/resolve`, { note: "Warned" }, admin.accessToken);
    expect(resolved.body).toMatchObject({ status: "resolved", note: "Warned", resolvedBy: admin.user.id });
    expect((await sys.api.post(`/v1/admin/flags/${flag.body.id}/resolve`, {}, admin.accessToken)).status).toBe(409);
    expect((await sys.api.post(`/v1/admin/flags/nope/resolve`, {}, admin.accessToken)).status).toBe(404);
    expect((await sys.api.get("/v1/admin/flags?status=resolved", admin.accessToken)).body.items.map((f: any) => f.id)).toContain(flag.body.id);
    expect((await sys.api.get("/v1/admin/flags?status=open", admin.accessToken)).body.items.map((f: any) => f.id)).not.toContain(flag.body.id);
    expect((await sys.api.get(`/v1/users/${target.user.id}/trust`, target.accessToken)).body.score).toBe(before.score);
    expect((await sys.api.post("/v1/admin/flags", { subjectType: "vehicle", subjectId: "veh-x", reason: "Fake photos" }, admin.accessToken)).status).toBe(201);
    expect((await sys.api.post("/v1/admin/flags", { subjectType: "planet", subjectId: "x", reason: "nope" }, admin.accessToken)).status).toBe(400);

    const audit = await waitFor(async () => {
      const a = await sys.api.get(`/v1/admin/audit?entityType=flag&entityId=${flag.body.id}`, admin.accessToken);
      return a.body.items?.length === 2 && a.body;
    }, "the flag's audit entries");
    expect(audit.items.map((e: any) => e.action)).toEqual(["flag.resolve", "flag.raise"]);
    expect(audit.items[0].actor).toMatchObject({ id: admin.user.id, kind: "admin" });
  });

  test("when an admin overrides a user's trust, then it shows beside the computed score until deleted; audited", async () => {
    const put = await sys.api.put(`/v1/admin/trust/${renter.user.id}`, { score: 12, reason: "Chargeback fraud" }, admin.accessToken);
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ effectiveScore: 12, override: { score: 12, reason: "Chargeback fraud", setBy: admin.user.id } });
    const seen = await sys.api.get(`/v1/users/${renter.user.id}/trust`, owner.accessToken);
    expect(seen.body.override).toEqual({ score: 12, setAt: expect.any(String) });
    expect(seen.body.score).toBe(put.body.score);
    expect(seen.body.score).not.toBe(12);
    await waitFor(() => updates.find((f) => f.data.subjectId === renter.user.id && f.data.override === 12), "the override's trust.updated");
    expect((await sys.api.put(`/v1/admin/trust/${renter.user.id}`, { score: 101, reason: "x".repeat(5) }, admin.accessToken)).status).toBe(400);
    expect((await sys.api.put(`/v1/admin/trust/${renter.user.id}`, { score: 50, reason: "no" }, owner.accessToken)).status).toBe(403);
    expect((await sys.api.delete(`/v1/admin/trust/${renter.user.id}`, admin.accessToken)).status).toBe(204);
    expect((await sys.api.get(`/v1/users/${renter.user.id}/trust`, owner.accessToken)).body.override).toBeUndefined();
    expect((await sys.api.delete(`/v1/admin/trust/${renter.user.id}`, admin.accessToken)).status).toBe(404);
    const audit = await waitFor(async () => {
      const a = await sys.api.get(`/v1/admin/audit?entityType=trust&entityId=user:${renter.user.id}`, admin.accessToken);
      return a.body.items?.length === 2 && a.body;
    }, "the override's audit entries");
    expect(audit.items.map((e: any) => e.action)).toEqual(["trust.override.clear", "trust.override"]);
  });

  test("when an admin suspends a user, then the user's token stops working at once (401) and login is refused; reinstating restores login", async () => {
    const user = await loginByOtp(sys);
    expect((await sys.api.get("/v1/auth/me", user.accessToken)).status).toBe(200);
    expect((await sys.api.post(`/v1/admin/users/${user.user.id}/suspend`, { reason: "Fraud" }, owner.accessToken)).status).toBe(403);
    expect((await sys.api.post(`/v1/admin/users/${user.user.id}/suspend`, {}, admin.accessToken)).status).toBe(400);

    const suspended = await sys.api.post(`/v1/admin/users/${user.user.id}/suspend`, { reason: "Fraudulent bookings" }, admin.accessToken);
    expect(suspended.status).toBe(200);
    expect(suspended.body).toMatchObject({ id: user.user.id, status: "suspended", suspension: { reason: "Fraudulent bookings", by: admin.user.id } });
    const denied = await sys.api.get("/v1/auth/me", user.accessToken);
    expect(denied.status).toBe(401);
    expect(denied.body.error.code).toBe("UNAUTHENTICATED");
    expect((await sys.api.post("/v1/auth/refresh", { refreshToken: user.refreshToken })).status).toBe(401);
    await expect(loginByOtp(sys, user.phone)).rejects.toThrow(/403/);
    expect((await sys.api.post(`/v1/admin/users/${user.user.id}/suspend`, { reason: "again" }, admin.accessToken)).status).toBe(409);
    expect((await sys.api.post(`/v1/admin/users/${admin.user.id}/suspend`, { reason: "oops" }, admin.accessToken)).status).toBe(400);

    const listed = await sys.api.get("/v1/admin/users?status=suspended", admin.accessToken);
    expect(listed.body.items.map((u: any) => u.id)).toContain(user.user.id);
    expect(listed.body.items.every((u: any) => u.status === "suspended")).toBe(true);

    const back = await sys.api.post(`/v1/admin/users/${user.user.id}/reinstate`, {}, admin.accessToken);
    expect(back.body).toMatchObject({ status: "active", suspension: null });
    expect((await sys.api.post(`/v1/admin/users/${user.user.id}/reinstate`, {}, admin.accessToken)).status).toBe(409);
    const again = await loginByOtp(sys, user.phone);
    expect((await sys.api.get("/v1/auth/me", again.accessToken)).status).toBe(200);
    expect((await sys.api.get("/v1/auth/me", user.accessToken)).status).toBe(401); // the old session stays ended

    const audit = await waitFor(async () => {
      const a = await sys.api.get(`/v1/admin/audit?entityType=user&entityId=${user.user.id}`, admin.accessToken);
      return a.body.items?.length === 2 && a.body;
    }, "the suspension's audit entries");
    expect(audit.items.map((e: any) => e.action)).toEqual(["user.reinstate", "user.suspend"]);
  });

  test("the admin user list filters by role, status and KYC status and pages", async () => {
    const admins = await sys.api.get("/v1/admin/users?role=admin", admin.accessToken);
    expect(admins.body.items.map((u: any) => u.id)).toEqual([admin.user.id]);
    const page = await sys.api.get("/v1/admin/users?limit=2", admin.accessToken);
    expect(page.body.items).toHaveLength(2);
    const next = await sys.api.get(`/v1/admin/users?limit=2&cursor=${page.body.nextCursor}`, admin.accessToken);
    expect(next.body.items[0].id < page.body.items[1].id).toBe(true);
    expect((await sys.api.get("/v1/admin/users?kycStatus=approved", admin.accessToken)).body.items.every((u: any) => u.kycStatus === "approved")).toBe(true);
    expect((await sys.api.get("/v1/admin/users?role=pilot", admin.accessToken)).status).toBe(400);
    expect((await sys.api.get("/v1/admin/bookings?status=completed", admin.accessToken)).status).toBe(200);
  });
});

describe("recompute", () => {
  test("when a random history arrives twice over the broker, then a recompute from the stored facts changes nothing", async () => {
    const facts = randomHistory(42, { prefix: `http-${Date.now().toString(36)}`, base: Date.now() - 3 * DAY });
    await deliver([...facts, ...facts.slice(0, 20)]);
    expect((await sys.api.post("/v1/admin/trust/recompute", {}, owner.accessToken)).status).toBe(403);
    const res = await sys.api.post("/v1/admin/trust/recompute", {}, admin.accessToken);
    expect(res.status).toBe(200);
    expect(res.body.facts).toBeGreaterThanOrEqual(facts.length);
    expect(res.body.subjects).toBeGreaterThan(10);
    expect(res.body.changed).toEqual({ subjects: [], days: [] });
  });
});
