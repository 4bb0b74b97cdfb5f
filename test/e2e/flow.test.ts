/**
 * The product's main story, embedded profile, every real service, only HTTP
 * and the SMS outbox: verified owner lists a car with a driver, a renter finds
 * and books it, the owner accepts, the driver confirms the cash payment from
 * the link in the SMS, the trip happens. Then decline and cancel give the
 * time back.
 */
import { loginByOtp, newPhone, outbox, startSystem, waitFor, type Session, type TestSystem } from "../support/system";
import { verifyThroughApi } from "../support/kyc";

const HOUR = 3_600_000;
let sys: TestSystem;
let admin: Session;
const adminPhone = newPhone();

beforeAll(async () => {
  sys = await startSystem({ ADMIN_PHONES: adminPhone, OTP_PHONE_LIMIT: "50" });
  admin = await loginByOtp(sys, adminPhone);
});
afterAll(() => sys.stop());

/** The whole KYC path a person takes; the admin's approval must take effect within a second. */
const verified = (s: Session) => verifyThroughApi(sys.api, s, admin, 1000);

/** A window starting at the next whole hour `days` ahead, in KST, as a user would type it. */
function window(days: number, startHour: number, lengthHours: number) {
  const base = new Date(Date.now() + days * 24 * HOUR);
  const day = base.toISOString().slice(0, 10);
  const start = new Date(`${day}T${String(startHour).padStart(2, "0")}:00:00+09:00`);
  return { start: start.toISOString().replace(".000Z", "Z"), end: new Date(start.getTime() + lengthHours * HOUR).toISOString().replace(".000Z", "Z") };
}

test("when an owner lists a car with a driver and a renter books it, then the driver's link confirms payment and the trip completes", async () => {
  // The owner: not verified, cannot list; verified, can.
  const owner = await loginByOtp(sys);
  expect((await sys.api.post("/v1/auth/me/roles", { role: "owner" }, owner.accessToken)).status).toBe(200);
  const car = { licensePlate: "12가 3456", make: "Hyundai", model: "Ioniq 5", year: 2023, seats: 5, hourlyRate: 12_000, fuelType: "electric", transmission: "automatic", location: { address: "Seoul City Hall", lat: 37.5663, lng: 126.9779 } };
  const refused = await sys.api.post("/v1/vehicles", car, owner.accessToken);
  expect(refused.status).toBe(403);
  expect(refused.body.error.code).toBe("KYC_REQUIRED");
  await verified(owner);
  const vehicle = await sys.api.post("/v1/vehicles", car, owner.accessToken);
  expect(vehicle.status).toBe(201);
  expect((await sys.api.post("/v1/vehicles", { ...car, licensePlate: "12가3456" }, owner.accessToken)).body.error.code).toBe("DUPLICATE");

  const driverPhone = newPhone();
  const driver = await sys.api.post("/v1/drivers", { name: "Choi", phone: driverPhone }, owner.accessToken);
  expect(driver.status).toBe(201);
  expect((await sys.api.put(`/v1/vehicles/${vehicle.body.id}/driver`, { driverId: driver.body.id }, owner.accessToken)).status).toBe(200);

  // The renter finds it 1 km away with a quote, and books it.
  const renter = await loginByOtp(sys);
  await verified(renter);
  const w = window(3, 10, 5);
  const search = `/v1/vehicles?lat=37.5700&lng=126.9820&radiusKm=2&start=${encodeURIComponent(w.start)}&end=${encodeURIComponent(w.end)}`;
  const found = await sys.api.get(search);
  expect(found.status).toBe(200);
  const hit = found.body.items.find((v: any) => v.id === vehicle.body.id);
  expect(hit.distanceKm).toBeGreaterThan(0.3);
  expect(hit.distanceKm).toBeLessThan(1);
  expect(hit.quote).toMatchObject({ total: 60_000, platformFee: 9_000, currency: "KRW" });
  expect((await sys.api.get(`/v1/vehicles?lat=35.1796&lng=129.0756&radiusKm=5&start=${encodeURIComponent(w.start)}&end=${encodeURIComponent(w.end)}`)).body.items).toEqual([]);

  const booking = await sys.api.post("/v1/bookings", { vehicleId: vehicle.body.id, ...w, message: "Airport run" }, renter.accessToken);
  expect(booking.status).toBe(201);
  expect(booking.body).toMatchObject({ status: "requested", renterId: renter.user.id, ownerId: owner.user.id, price: { hours: 5, hourlyRate: 12_000, total: 60_000, platformFee: 9_000, hostAmount: 51_000, currency: "KRW" } });
  const id = booking.body.id;

  // The window is now held: another renter is refused, and search no longer offers the car for it.
  const other = await loginByOtp(sys);
  await verified(other);
  const overlap = await sys.api.post("/v1/bookings", { vehicleId: vehicle.body.id, start: w.start, end: new Date(Date.parse(w.end) + HOUR).toISOString() }, other.accessToken);
  expect(overlap.status).toBe(409);
  expect(overlap.body.error.code).toBe("BOOKING_CONFLICT");
  expect((await sys.api.get(search)).body.items.map((v: any) => v.id)).not.toContain(vehicle.body.id);

  // The owner accepts; the saga takes a payment record and texts the driver a link.
  const sentBefore = Date.now() - 1;
  const accepted = await sys.api.post(`/v1/bookings/${id}/accept`, {}, owner.accessToken);
  expect(accepted.status).toBe(200);
  expect(accepted.body.status).toBe("accepted");
  const sms = await waitFor(() => outbox(sys.dataDir).find((m) => m.to === driverPhone && Date.parse(m.createdAt) >= sentBefore), "the driver's SMS");
  const link = /(https?:\/\/\S+\/d\/([A-Za-z0-9_-]{43,}))/.exec(sms.body);
  expect(link).not.toBeNull();
  const firstToken = link![2];

  // The driver lost the SMS: only the owner may send a new link; a retry with the same key sends nothing more.
  expect((await sys.api.post(`/v1/bookings/${id}/driver-link`, {}, renter.accessToken)).status).toBe(403);
  const resentAt = Date.now() - 1;
  const resend = () => sys.api.post(`/v1/bookings/${id}/driver-link`, {}, owner.accessToken, { "idempotency-key": "resend-1" });
  const reissued = await waitFor(async () => {
    const r = await resend();
    return r.status === 200 ? r : undefined; // 409 until the saga has finished setting up the payment
  }, "the saga to finish so a link can be re-sent");
  expect((await resend()).body.linkId).toBe(reissued.body.linkId);
  const resent = await waitFor(() => outbox(sys.dataDir).filter((m) => m.to === driverPhone && Date.parse(m.createdAt) >= resentAt).length === 1 && outbox(sys.dataDir).filter((m) => m.to === driverPhone && Date.parse(m.createdAt) >= resentAt), "the new SMS");
  await new Promise((r) => setTimeout(r, 200));
  expect(outbox(sys.dataDir).filter((m) => m.to === driverPhone && Date.parse(m.createdAt) >= resentAt)).toHaveLength(1);
  const token = /\/d\/([A-Za-z0-9_-]{43,})/.exec(resent[0].body)![1];
  expect(token).not.toBe(firstToken);
  expect((await sys.api.get(`/v1/driver-links/${firstToken}`)).status).toBe(410);

  // The page and the summary show what to collect.
  const page = await sys.api.get(`/d/${token}`);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toContain("text/html");
  expect(page.text).toMatch(/60,000|60000/);
  const summary = await sys.api.get(`/v1/driver-links/${token}`);
  expect(summary.body.booking).toMatchObject({ id, expectedAmount: 60_000, currency: "KRW" });

  // The driver reports the cash payment; the booking is confirmed, the owner told.
  const report = { paid: true, amount: 60_000, method: "cash", paidAt: new Date().toISOString() };
  const paid = await sys.api.post(`/v1/driver-links/${token}/payment`, report, undefined, { "idempotency-key": "k-1" });
  expect(paid.status).toBe(200);
  expect(paid.body.payment).toMatchObject({ status: "paid", amount: 60_000, discrepancy: false });
  expect(paid.body.booking).toMatchObject({ id, status: "confirmed" });
  expect((await sys.api.get(`/v1/bookings/${id}`, renter.accessToken)).body.status).toBe("confirmed");
  const payments = await sys.api.get(`/v1/payments?bookingId=${id}`, owner.accessToken);
  expect(payments.body.items).toEqual([expect.objectContaining({ status: "paid", source: "driver_link", method: "cash", amount: 60_000, platformFee: 9_000, hostAmount: 51_000 })]);
  await waitFor(async () => (await sys.api.get("/v1/notifications", owner.accessToken)).body.items.some((n: any) => /paid|결제/i.test(JSON.stringify(n))), "the owner's payment notice");

  // The same key replays the first answer; another key finds the link used.
  const replay = await sys.api.post(`/v1/driver-links/${token}/payment`, report, undefined, { "idempotency-key": "k-1" });
  expect(replay.status).toBe(200);
  expect(replay.body).toEqual(paid.body);
  const reuse = await sys.api.post(`/v1/driver-links/${token}/payment`, report, undefined, { "idempotency-key": "k-2" });
  expect(reuse.status).toBe(410);
  expect(reuse.body.error.code).toBe("LINK_USED");

  // Pickup and return; the timeline tells the whole story.
  expect((await sys.api.post(`/v1/bookings/${id}/return`, {}, owner.accessToken)).body.error.code).toBe("INVALID_STATE");
  expect((await sys.api.post(`/v1/bookings/${id}/pickup`, {}, owner.accessToken)).body.status).toBe("active");
  expect((await sys.api.post(`/v1/bookings/${id}/return`, {}, owner.accessToken)).body.status).toBe("completed");
  const timeline = await sys.api.get(`/v1/bookings/${id}/timeline`, renter.accessToken);
  expect(timeline.body.items.map((t: any) => t.status)).toEqual(["requested", "accepted", "confirmed", "active", "completed"]);
  expect(timeline.body.items[1].actor).toMatchObject({ id: owner.user.id });
});

test("when the owner declines or a renter cancels, then the window is free for others at once", async () => {
  const owner = await loginByOtp(sys);
  await sys.api.post("/v1/auth/me/roles", { role: "owner" }, owner.accessToken);
  await verified(owner);
  const vehicle = await sys.api.post("/v1/vehicles", { licensePlate: "34나 7890", make: "Kia", model: "Ray", year: 2021, hourlyRate: 8_000, location: { address: "Gangnam", lat: 37.4979, lng: 127.0276 } }, owner.accessToken);
  expect(vehicle.status).toBe(201);
  const [a, b] = [await loginByOtp(sys), await loginByOtp(sys)];
  await verified(a);
  await verified(b);
  const w = window(5, 9, 3);
  const book = (s: Session) => sys.api.post("/v1/bookings", { vehicleId: vehicle.body.id, ...w }, s.accessToken);

  const first = await book(a);
  expect(first.status).toBe(201);
  expect((await book(b)).status).toBe(409);
  expect((await sys.api.post(`/v1/bookings/${first.body.id}/decline`, { reason: "servicing" }, owner.accessToken)).body.status).toBe("declined");
  const second = await book(b);
  expect(second.status).toBe(201);
  expect((await book(a)).status).toBe(409);
  expect((await sys.api.post(`/v1/bookings/${second.body.id}/cancel`, { reason: "plans changed" }, b.accessToken)).body.status).toBe("cancelled");
  expect((await book(a)).status).toBe(201);
});
