/**
 * Ratings, trust and admin analytics after a real trip: every real service in
 * one process (embedded profile), only HTTP and the SMS outbox. The trust
 * service learns the trip from the facts bookings, payments and KYC publish.
 */
import { verifyThroughApi } from "../support/kyc";
import { loginByOtp, newPhone, outbox, startSystem, waitFor, type Session, type TestSystem } from "../support/system";

jest.setTimeout(90_000);

const HOUR = 3_600_000;
const adminPhone = newPhone();
let sys: TestSystem;
let admin: Session;

beforeAll(async () => {
  sys = await startSystem({ ADMIN_PHONES: adminPhone, OTP_PHONE_LIMIT: "50" });
  admin = await loginByOtp(sys, adminPhone);
});
afterAll(() => sys.stop());

function window(days: number, startHour: number, lengthHours: number) {
  const day = new Date(Date.now() + days * 24 * HOUR).toISOString().slice(0, 10);
  const start = new Date(`${day}T${String(startHour).padStart(2, "0")}:00:00+09:00`);
  return { start: start.toISOString(), end: new Date(start.getTime() + lengthHours * HOUR).toISOString() };
}

test("when a trip with a driver is completed, then its parties rate each other, trust shows it and an admin sees it in analytics, bookings and payments", async () => {
  const today = new Date().toISOString().slice(0, 10);
  const analytics = async () => (await sys.api.get(`/v1/admin/analytics?from=${today}&to=${today}`, admin.accessToken)).body;
  const before = await analytics();

  // A verified owner with a car and a driver; a verified renter.
  const owner = await loginByOtp(sys);
  expect((await sys.api.post("/v1/auth/me/roles", { role: "owner" }, owner.accessToken)).status).toBe(200);
  await verifyThroughApi(sys.api, owner, admin);
  const renter = await loginByOtp(sys);
  await verifyThroughApi(sys.api, renter, admin);
  const car = await sys.api.post("/v1/vehicles", { licensePlate: "56다 1234", make: "Kia", model: "EV6", year: 2024, hourlyRate: 15_000, location: { address: "Seoul Station", lat: 37.5547, lng: 126.9707 } }, owner.accessToken);
  expect(car.status).toBe(201);
  const driverPhone = newPhone();
  const driver = await sys.api.post("/v1/drivers", { name: "Park", phone: driverPhone }, owner.accessToken);
  expect((await sys.api.put(`/v1/vehicles/${car.body.id}/driver`, { driverId: driver.body.id }, owner.accessToken)).status).toBe(200);

  // Book, accept, the driver reports the cash, pickup, return.
  const booking = await sys.api.post("/v1/bookings", { vehicleId: car.body.id, ...window(2, 10, 4) }, renter.accessToken);
  expect(booking.status).toBe(201);
  const id = booking.body.id;
  const total = booking.body.price.total;
  expect(total).toBe(60_000);

  // Not completed: no rating yet.
  const early = await sys.api.post(`/v1/bookings/${id}/ratings`, { target: "vehicle", score: 5 }, renter.accessToken);
  expect(early.status).toBe(409);
  expect(early.body.error.code).toBe("INVALID_STATE");

  const sentBefore = Date.now() - 1;
  expect((await sys.api.post(`/v1/bookings/${id}/accept`, {}, owner.accessToken)).status).toBe(200);
  const sms = await waitFor(() => outbox(sys.dataDir).find((m) => m.to === driverPhone && Date.parse(m.createdAt) >= sentBefore), "the driver's SMS");
  const token = /\/d\/([A-Za-z0-9_-]{43,})/.exec(sms.body)![1];
  const paid = await sys.api.post(`/v1/driver-links/${token}/payment`, { paid: true, amount: total, method: "cash", paidAt: new Date().toISOString() }, undefined, { "idempotency-key": "trust-1" });
  expect(paid.status).toBe(200);
  await waitFor(async () => (await sys.api.get(`/v1/bookings/${id}`, renter.accessToken)).body.status === "confirmed", "the booking confirmed");
  expect((await sys.api.post(`/v1/bookings/${id}/pickup`, {}, owner.accessToken)).body.status).toBe("active");
  expect((await sys.api.post(`/v1/bookings/${id}/return`, {}, owner.accessToken)).body.status).toBe("completed");

  // Rated at once (the trust read model may be a moment behind: it asks bookings once).
  const vehicleRating = await sys.api.post(`/v1/bookings/${id}/ratings`, { target: "vehicle", score: 5, categories: { cleanliness: 5 }, comment: "Like new" }, renter.accessToken);
  expect(vehicleRating.status).toBe(201);
  expect((await sys.api.post(`/v1/bookings/${id}/ratings`, { target: "vehicle", score: 4 }, renter.accessToken)).status).toBe(409);
  expect((await sys.api.post(`/v1/bookings/${id}/ratings`, { target: "owner", score: 9 }, renter.accessToken)).status).toBe(400);
  const stranger = await loginByOtp(sys);
  expect((await sys.api.post(`/v1/bookings/${id}/ratings`, { target: "vehicle", score: 1 }, stranger.accessToken)).status).toBe(403);
  expect((await sys.api.post(`/v1/bookings/${id}/ratings`, { target: "driver", score: 4, categories: { punctuality: 4 } }, renter.accessToken)).status).toBe(201);
  expect((await sys.api.post(`/v1/bookings/${id}/ratings`, { target: "owner", score: 5, recommend: true }, renter.accessToken)).status).toBe(201);
  expect((await sys.api.get(`/v1/vehicles/${car.body.id}/ratings`)).body.items).toEqual([]);
  expect((await sys.api.post(`/v1/bookings/${id}/ratings`, { target: "renter", score: 5 }, owner.accessToken)).status).toBe(201);

  const list = await sys.api.get(`/v1/vehicles/${car.body.id}/ratings`);
  expect(list.body.items).toEqual([expect.objectContaining({ bookingId: id, score: 5, comment: "Like new", revealed: true })]);
  expect(list.body.summary).toMatchObject({ count: 1, average: 5 });

  // Trust: the owner (KYC approved, a completed trip, a 5-star rating) and the driver (an accurate report, a 4).
  const ownerTrust = await waitFor(async () => {
    const t = (await sys.api.get(`/v1/users/${owner.user.id}/trust`, renter.accessToken)).body;
    return t.components?.completionRate.completed === 1 && t.components.ratings.count === 1 && t;
  }, "the owner's trust to count the trip");
  expect(ownerTrust.components).toMatchObject({ kyc: { status: "approved", value: 1 }, ratings: { average: 5 } });
  expect(ownerTrust.score).toBeGreaterThanOrEqual(90);
  const driverTrust = await waitFor(async () => {
    const t = (await sys.api.get(`/v1/drivers/${driver.body.id}/trust`, owner.accessToken)).body;
    return t.components?.paymentAccuracy.reports === 1 && t.components.completionRate.completed === 1 && t;
  }, "the driver's trust to count the trip");
  expect(driverTrust.components).toMatchObject({ kyc: { weight: 0 }, paymentAccuracy: { accurate: 1 }, ratings: { count: 1, average: 4 } });
  expect((await sys.api.get(`/v1/users/${renter.user.id}/trust`, owner.accessToken)).body.components.paymentAccuracy).toMatchObject({ reports: 1, accurate: 1 });

  // The admin's views: analytics from the facts, bookings and payments from their services.
  const after = await waitFor(async () => {
    const a = await analytics();
    return a.bookings.byStatus.completed === before.bookings.byStatus.completed + 1 && a;
  }, "the trip in the analytics");
  const krw = (a: any) => a.revenue.find((r: any) => r.currency === "KRW") ?? { payments: 0, gross: 0, platformFee: 0, reported: 0 };
  expect(krw(after).gross - krw(before).gross).toBe(60_000);
  expect(krw(after).platformFee - krw(before).platformFee).toBe(9_000);
  expect(krw(after).reported - krw(before).reported).toBe(60_000);
  expect(after.driverReliability.onTime - before.driverReliability.onTime).toBe(1);
  expect(after.kyc.approved - before.kyc.approved).toBe(2);
  expect(after.kyc.averageReviewHours).not.toBeNull();
  expect(after.bookings.completionRate).toBeGreaterThan(0);

  const bookings = await sys.api.get(`/v1/admin/bookings?status=completed&renterId=${renter.user.id}`, admin.accessToken);
  expect(bookings.status).toBe(200);
  expect(bookings.body.items.map((b: any) => b.id)).toEqual([id]);
  const window2 = window(2, 0, 48);
  expect((await sys.api.get(`/v1/admin/bookings?ownerId=${owner.user.id}&from=${encodeURIComponent(window2.start)}&to=${encodeURIComponent(window2.end)}`, admin.accessToken)).body.items.map((b: any) => b.id)).toEqual([id]);
  expect((await sys.api.get(`/v1/admin/bookings?ownerId=${owner.user.id}&to=${encodeURIComponent(new Date().toISOString())}`, admin.accessToken)).body.items).toEqual([]);
  expect((await sys.api.get(`/v1/admin/bookings?from=tomorrow`, admin.accessToken)).status).toBe(400);
  expect((await sys.api.get(`/v1/admin/bookings`, owner.accessToken)).status).toBe(403);
  const payments = await sys.api.get(`/v1/admin/payments?bookingId=${id}`, admin.accessToken);
  expect(payments.body.items).toEqual([expect.objectContaining({ bookingId: id, status: "paid", amount: 60_000, platformFee: 9_000 })]);
  const users = await sys.api.get(`/v1/admin/users?role=owner&kycStatus=approved`, admin.accessToken);
  expect(users.body.items.map((u: any) => u.id)).toContain(owner.user.id);

  // Whatever happened incrementally, a recompute from the stored facts agrees.
  const recompute = await sys.api.post("/v1/admin/trust/recompute", {}, admin.accessToken);
  expect(recompute.body.changed).toEqual({ subjects: [], days: [] });
});
