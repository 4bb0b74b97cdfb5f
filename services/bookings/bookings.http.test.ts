/**
 * Bookings through the real gateway, embedded profile: the bookings service
 * with real auth, and fakes of vehicles, payments, driver links and
 * notifications (services/bookings/test/fakes.ts).
 */
import { publishFact } from "../../lib/facts";
import { loginByOtp, newPhone, waitFor, type TestSystem } from "../../test/support/system";
import { hours, kst, nextSlot, owner, renter, startBookingsSystem, World, type User } from "./test/fakes";

jest.setTimeout(30_000);

const world = new World();
let sys: TestSystem;
let host: User;
let guest: User;
let guest2: User;

beforeAll(async () => {
  sys = await startBookingsSystem(world);
  [host, guest, guest2] = await Promise.all([owner(sys), renter(sys), renter(sys)]);
});
afterAll(() => sys.stop());

function book(u: User, vehicleId: string, startMs: number, lengthMs: number, extra: Record<string, unknown> = {}) {
  return sys.api.post("/v1/bookings", { vehicleId, start: kst(startMs), end: kst(startMs + lengthMs), ...extra }, u.accessToken);
}

const post = (path: string, u: User, body: unknown = {}) => sys.api.post(path, body, u.accessToken);

describe("requesting a booking", () => {
  test("when a renter books 2h30 at 10,000/h, then 201 with 3 started hours, 15 % fee and the API body", async () => {
    const v = world.addVehicle(host.id);
    const start = nextSlot();
    const res = await book(guest, v.id, start, hours(2.5), { message: "airport pickup" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.any(String),
      vehicleId: v.id,
      renterId: guest.id,
      ownerId: host.id,
      start: new Date(start).toISOString(),
      end: new Date(start + hours(2.5)).toISOString(),
      status: "requested",
      price: { hours: 3, hourlyRate: 10_000, total: 30_000, platformFee: 4_500, hostAmount: 25_500, currency: "KRW" },
      message: "airport pickup",
      createdAt: expect.any(String),
    });
    expect(res.body.driverId).toBeUndefined();
    expect(res.body.paymentId).toBeUndefined();
    const got = await sys.api.get(`/v1/bookings/${res.body.id}`, guest.accessToken);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
    await waitFor(() => world.fact("booking.requested", res.body.id).length === 1, "the booking.requested fact");
  });

  test("when the fee has a half unit, then it is rounded half up and the host gets the rest", async () => {
    const v = world.addVehicle(host.id, { hourlyRate: 10 });
    const res = await book(guest, v.id, nextSlot(), hours(1));
    expect(res.status).toBe(201);
    expect(res.body.price).toEqual({ hours: 1, hourlyRate: 10, total: 10, platformFee: 2, hostAmount: 8, currency: "KRW" });
  });

  test("when the vehicle has a driver, then the booking names the driver", async () => {
    const driver = world.addDriver(host.id, newPhone());
    const v = world.addVehicle(host.id, { driverId: driver.id });
    const res = await book(guest, v.id, nextSlot(), hours(2));
    expect(res.status).toBe(201);
    expect(res.body.driverId).toBe(driver.id);
  });

  test("when a second request overlaps a holding booking, then 409 BOOKING_CONFLICT names the window it hits", async () => {
    const v = world.addVehicle(host.id);
    const start = nextSlot();
    const first = await book(guest, v.id, start, hours(4));
    expect(first.status).toBe(201);
    const second = await book(guest2, v.id, start + hours(3), hours(2));
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: "BOOKING_CONFLICT", status: 409, details: { conflicting: { start: first.body.start, end: first.body.end } } });
    const inside = await book(guest2, v.id, start + hours(1), hours(1));
    expect(inside.body.error.code).toBe("BOOKING_CONFLICT");
    const around = await book(guest2, v.id, start - hours(1), hours(6));
    expect(around.body.error.code).toBe("BOOKING_CONFLICT");
  });

  test("when windows only touch end to start, then both are booked", async () => {
    const v = world.addVehicle(host.id);
    const start = nextSlot();
    expect((await book(guest, v.id, start, hours(2))).status).toBe(201);
    expect((await book(guest2, v.id, start + hours(2), hours(2))).status).toBe(201);
    expect((await book(guest2, v.id, start - hours(2), hours(2))).status).toBe(201);
  });

  test("when many overlapping requests arrive at once, then exactly one is booked", async () => {
    const v = world.addVehicle(host.id);
    const start = nextSlot();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => book(i % 2 ? guest : guest2, v.id, start + (i % 3) * hours(1), hours(3))));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409 && a.body.error.code === "BOOKING_CONFLICT")).toHaveLength(19);
  });

  test("when the start is in the past, then 400 VALIDATION_ERROR on start", async () => {
    const v = world.addVehicle(host.id);
    const res = await book(guest, v.id, Date.now() - hours(1), hours(3));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    expect(res.body.error.details).toEqual([{ field: "start", message: "must be in the future" }]);
  });

  test("when the booking is shorter than an hour, then 400", async () => {
    const v = world.addVehicle(host.id);
    const res = await book(guest, v.id, nextSlot(), hours(0.5));
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ field: "end", message: "a booking lasts at least one hour" }]);
  });

  test("when the booking is longer than 30 days, then 400; exactly 30 days is fine", async () => {
    const v = world.addVehicle(host.id);
    const start = nextSlot();
    const long = await book(guest, v.id, start, hours(24 * 30 + 1));
    expect(long.status).toBe(400);
    expect(long.body.error.details).toEqual([{ field: "end", message: "a booking lasts at most 30 days" }]);
    expect((await book(guest, v.id, start, hours(24 * 30))).status).toBe(201);
  });

  test("when times are malformed or lack an offset, then 400 names both fields", async () => {
    const v = world.addVehicle(host.id);
    const res = await sys.api.post("/v1/bookings", { vehicleId: v.id, start: "2030-01-01T10:00:00", end: "tomorrow" }, guest.accessToken);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: any) => d.field)).toEqual(["start", "end"]);
  });

  test("when the owner books their own vehicle, then 403 FORBIDDEN", async () => {
    const v = world.addVehicle(host.id);
    const res = await book(host, v.id, nextSlot(), hours(2));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("FORBIDDEN");
  });

  test("when the vehicle is unknown, then 404; when it is inactive, then 409 CONFLICT", async () => {
    expect((await book(guest, "nope", nextSlot(), hours(2))).status).toBe(404);
    const v = world.addVehicle(host.id, { status: "inactive" });
    const res = await book(guest, v.id, nextSlot(), hours(2));
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("CONFLICT");
  });

  test("when the window is outside the vehicle's availability, then 409 BOOKING_CONFLICT (outside_availability)", async () => {
    const start = nextSlot();
    const v = world.addVehicle(host.id, { availability: { blocks: [{ start: kst(start + hours(1)), end: kst(start + hours(2)), reason: "service" }] } });
    const res = await book(guest, v.id, start, hours(3));
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: "BOOKING_CONFLICT", details: { reason: "outside_availability" } });
    expect((await book(guest, v.id, start + hours(2), hours(3))).status).toBe(201);
  });

  test("when the renter's KYC is not approved, then 403 KYC_REQUIRED and nothing is held", async () => {
    const unverified = await renter(sys, false);
    const v = world.addVehicle(host.id);
    const start = nextSlot();
    const res = await book(unverified, v.id, start, hours(2));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("KYC_REQUIRED");
    expect((await book(guest, v.id, start, hours(2))).status).toBe(201);
  });
});

describe("answering, cancelling and the status machine", () => {
  test("when the owner declines, then the window is free for another renter and the fact carries the reason", async () => {
    const v = world.addVehicle(host.id);
    const start = nextSlot();
    const a = await book(guest, v.id, start, hours(3));
    expect((await book(guest2, v.id, start, hours(3))).status).toBe(409);
    const d = await post(`/v1/bookings/${a.body.id}/decline`, host, { reason: "car in service" });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ status: "declined", reason: "car in service" });
    expect((await book(guest2, v.id, start, hours(3))).status).toBe(201);
    const facts = await waitFor(() => world.fact("booking.declined", a.body.id).length > 0 && world.fact("booking.declined", a.body.id), "booking.declined");
    expect(facts[0].data).toMatchObject({ status: "declined", from: "requested", reason: "car in service", actor: { id: host.id, kind: "owner" } });
  });

  test("when the renter cancels, then the window is free again; when the owner cancels an accepted booking, then too", async () => {
    const v = world.addVehicle(host.id);
    const start = nextSlot();
    const a = await book(guest, v.id, start, hours(3));
    expect((await post(`/v1/bookings/${a.body.id}/cancel`, guest, { reason: "plans changed" })).body.status).toBe("cancelled");
    const b = await book(guest2, v.id, start, hours(3));
    expect(b.status).toBe(201);
    expect((await post(`/v1/bookings/${b.body.id}/accept`, host)).body.status).toBe("accepted");
    expect((await post(`/v1/bookings/${b.body.id}/cancel`, host)).body.status).toBe("cancelled");
    expect((await book(guest, v.id, start, hours(3))).status).toBe(201);
  });

  test("when a transition does not fit the status, then 409 INVALID_STATE", async () => {
    const v = world.addVehicle(host.id);
    const a = await book(guest, v.id, nextSlot(), hours(2));
    const id = a.body.id;
    for (const [path, who] of [["pickup", host], ["return", host]] as const) {
      const r = await post(`/v1/bookings/${id}/${path}`, who);
      expect(r.status).toBe(409);
      expect(r.body.error).toMatchObject({ code: "INVALID_STATE", details: { status: "requested" } });
    }
    expect((await post(`/v1/bookings/${id}/accept`, host)).status).toBe(200);
    expect((await post(`/v1/bookings/${id}/accept`, host)).body.error.code).toBe("INVALID_STATE");
    expect((await post(`/v1/bookings/${id}/decline`, host)).body.error.code).toBe("INVALID_STATE");
    expect((await post(`/v1/bookings/${id}/return`, host)).body.error.code).toBe("INVALID_STATE");
    expect((await post(`/v1/bookings/${id}/cancel`, guest)).status).toBe(200);
    expect((await post(`/v1/bookings/${id}/cancel`, guest)).body.error.code).toBe("INVALID_STATE");
    expect((await post(`/v1/bookings/${id}/accept`, host)).body.error.code).toBe("INVALID_STATE");
  });

  test("when someone else tries, then 403: a renter accepting, another owner declining, a stranger reading or cancelling", async () => {
    const other = await owner(sys);
    const v = world.addVehicle(host.id);
    const id = (await book(guest, v.id, nextSlot(), hours(2))).body.id;
    const accept = await post(`/v1/bookings/${id}/accept`, guest);
    expect(accept.status).toBe(403);
    expect(accept.body.error.code).toBe("FORBIDDEN");
    expect((await post(`/v1/bookings/${id}/decline`, other)).status).toBe(403);
    expect((await post(`/v1/bookings/${id}/accept`, other)).status).toBe(403);
    expect((await sys.api.get(`/v1/bookings/${id}`, guest2.accessToken)).status).toBe(403);
    expect((await sys.api.get(`/v1/bookings/${id}/timeline`, guest2.accessToken)).status).toBe(403);
    expect((await post(`/v1/bookings/${id}/cancel`, guest2)).status).toBe(403);
    expect((await sys.api.get(`/v1/bookings/${id}`, host.accessToken)).status).toBe(200);
    expect((await sys.api.get("/v1/bookings/unknown", host.accessToken)).status).toBe(404);
  });

  test("when a booking goes all the way, then the timeline lists every transition with actor, reason and time", async () => {
    const v = world.addVehicle(host.id);
    const id = (await book(guest, v.id, nextSlot(), hours(2))).body.id;
    expect((await post(`/v1/bookings/${id}/accept`, host)).status).toBe(200);
    const accepted = await waitFor(async () => (await sys.api.get(`/v1/bookings/${id}`, guest.accessToken)).body.paymentId, "the saga's payment");
    // The payment is confirmed: the payments service's fact moves the booking on.
    await publishFact(sys.broker, "payment.paid", { paymentId: accepted, bookingId: id, amount: 20_000 });
    await waitFor(async () => (await sys.api.get(`/v1/bookings/${id}`, guest.accessToken)).body.status === "confirmed", "confirmed");
    expect((await post(`/v1/bookings/${id}/pickup`, guest)).status).toBe(403);
    expect((await post(`/v1/bookings/${id}/pickup`, host)).body.status).toBe("active");
    expect((await post(`/v1/bookings/${id}/cancel`, guest)).body.error.code).toBe("INVALID_STATE");
    expect((await post(`/v1/bookings/${id}/return`, host)).body.status).toBe("completed");

    const t = await sys.api.get(`/v1/bookings/${id}/timeline`, guest.accessToken);
    expect(t.status).toBe(200);
    expect(t.body.nextCursor).toBeNull();
    expect(t.body.items.map((e: any) => [e.from, e.status, e.actor.kind])).toEqual([
      [null, "requested", "renter"],
      ["requested", "accepted", "owner"],
      ["accepted", "confirmed", "system"],
      ["confirmed", "active", "owner"],
      ["active", "completed", "owner"],
    ]);
    expect(t.body.items[0].actor.id).toBe(guest.id);
    expect(t.body.items[1].actor.id).toBe(host.id);
    const times = t.body.items.map((e: any) => e.at);
    expect([...times].sort()).toEqual(times);
    for (const type of ["booking.accepted", "booking.confirmed", "booking.started", "booking.completed"]) {
      await waitFor(() => world.fact(type, id).length === 1, type);
    }
    expect(world.fact("booking.confirmed", id)[0].data.paymentId).toBe(accepted);
    // A completed booking gives its time back.
    expect((await sys.api.get(`/v1/bookings/${id}`, host.accessToken)).body).toMatchObject({ status: "completed", paymentId: accepted });

    const reasons = await sys.api.get(`/v1/bookings/${(await declined()).id}/timeline`, host.accessToken);
    expect(reasons.body.items[1]).toMatchObject({ status: "declined", reason: "no", actor: { id: host.id, kind: "owner" }, at: expect.any(String) });
  });

  async function declined() {
    const v = world.addVehicle(host.id);
    const b = (await book(guest, v.id, nextSlot(), hours(2))).body;
    await post(`/v1/bookings/${b.id}/decline`, host, { reason: "no" });
    return b;
  }

  test("when the vehicle's driver records pickup and return, then they may; confirmPayment is idempotent", async () => {
    const driverPhone = newPhone();
    const driver = world.addDriver(host.id, driverPhone);
    const v = world.addVehicle(host.id, { driverId: driver.id });
    const id = (await book(guest, v.id, nextSlot(), hours(2))).body.id;
    await post(`/v1/bookings/${id}/accept`, host);
    const paymentId = await waitFor(async () => (await sys.api.get(`/v1/bookings/${id}`, guest.accessToken)).body.paymentId, "the saga's payment");
    const first = await sys.broker.call<any, any>("bookings.confirmPayment", { bookingId: id, paymentId });
    const again = await sys.broker.call<any, any>("bookings.confirmPayment", { bookingId: id, paymentId });
    expect(first.status).toBe("confirmed");
    expect(again).toEqual(first);
    const driverUser = await loginByOtp(sys, driverPhone);
    expect((await sys.api.get(`/v1/bookings/${id}`, driverUser.accessToken)).status).toBe(200);
    expect((await sys.api.post(`/v1/bookings/${id}/pickup`, {}, driverUser.accessToken)).body.status).toBe("active");
    const done = await sys.api.post(`/v1/bookings/${id}/return`, {}, driverUser.accessToken);
    expect(done.body.status).toBe("completed");
    const t = await sys.api.get(`/v1/bookings/${id}/timeline`, host.accessToken);
    expect(t.body.items.slice(-2).map((e: any) => e.actor)).toEqual([{ id: driverUser.user.id, kind: "driver" }, { id: driverUser.user.id, kind: "driver" }]);
  });
});

describe("lists and the busy calendar", () => {
  test("when listing as renter or owner with status synonyms, then only those come back, newest first, in pages", async () => {
    const me = await renter(sys);
    const v = world.addVehicle(host.id);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await book(me, v.id, nextSlot(), hours(2))).body.id);
    await post(`/v1/bookings/${ids[0]}/decline`, host);
    await post(`/v1/bookings/${ids[1]}/accept`, host);

    const all = await sys.api.get("/v1/bookings?as=renter", me.accessToken);
    expect(all.status).toBe(200);
    expect(all.body.items.map((b: any) => b.id)).toEqual([...ids].reverse());
    expect(all.body.nextCursor).toBeNull();
    const byStatus = async (s: string) => (await sys.api.get(`/v1/bookings?as=renter&status=${s}`, me.accessToken)).body.items.map((b: any) => b.id);
    expect(await byStatus("pending")).toEqual([ids[2]]);
    expect(await byStatus("approved")).toEqual([ids[1]]);
    expect(await byStatus("rejected")).toEqual([ids[0]]);
    expect(await byStatus("requested,declined")).toEqual([ids[2], ids[0]]);
    const bad = await sys.api.get("/v1/bookings?status=lost", me.accessToken);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("VALIDATION_ERROR");

    const p1 = await sys.api.get("/v1/bookings?as=renter&limit=2", me.accessToken);
    expect(p1.body.items.map((b: any) => b.id)).toEqual([ids[2], ids[1]]);
    expect(typeof p1.body.nextCursor).toBe("string");
    const p2 = await sys.api.get(`/v1/bookings?as=renter&limit=2&cursor=${p1.body.nextCursor}`, me.accessToken);
    expect(p2.body).toMatchObject({ items: [{ id: ids[0] }], nextCursor: null });
    expect((await sys.api.get("/v1/bookings?limit=101", me.accessToken)).status).toBe(400);
    expect((await sys.api.get("/v1/bookings?cursor=zzz", me.accessToken)).status).toBe(400);

    const asOwner = await sys.api.get("/v1/bookings?as=owner&status=approved", host.accessToken);
    expect(asOwner.body.items.map((b: any) => b.id)).toContain(ids[1]);
    expect((await sys.api.get("/v1/bookings?as=owner", me.accessToken)).body.items).toEqual([]);
  });

  test("when vehicles search asks for busy time, then one call answers for every vehicle", async () => {
    const v1 = world.addVehicle(host.id);
    const v2 = world.addVehicle(host.id);
    const start = nextSlot();
    const a = (await book(guest, v1.id, start, hours(2))).body;
    await book(guest, v1.id, start + hours(30), hours(2));
    const busy = await sys.broker.call("bookings.busy", { vehicleIds: [v1.id, v2.id], start: kst(start - hours(1)), end: kst(start + hours(24)) });
    expect(busy).toEqual({ [v1.id]: [{ start: a.start, end: a.end }], [v2.id]: [] });
    await post(`/v1/bookings/${a.id}/cancel`, guest);
    expect(await sys.broker.call("bookings.busy", { vehicleIds: [v1.id], start: kst(start), end: kst(start + hours(1)) })).toEqual({ [v1.id]: [] });
  });
});
