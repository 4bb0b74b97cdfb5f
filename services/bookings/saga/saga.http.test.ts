/**
 * The booking saga, started by accepting through the gateway, against fakes
 * of payments, driver links and notifications that can fail on demand.
 */
import { bookingNoticeKey } from "../../../lib/events";
import { newPhone, waitFor, type TestSystem } from "../../../test/support/system";
import { hours, kst, nextSlot, owner, renter, startBookingsSystem, World, type User } from "../test/fakes";
import type { SagaDoc } from "./saga";

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

const sagaOf = (id: string): Promise<SagaDoc | null> => (sys.broker.getLocalService("bookings") as any).saga.sagas.findById(id);
const settled = (id: string) => waitFor(async () => {
  const s = await sagaOf(id);
  return s && (s.status === "done" || s.status === "compensated") && s;
}, `the saga of ${id} to settle`);
const getBooking = async (id: string) => (await sys.api.get(`/v1/bookings/${id}`, guest.accessToken)).body;

async function requestAndAccept(vehicleId: string, start = nextSlot()) {
  const b = await sys.api.post("/v1/bookings", { vehicleId, start: kst(start), end: kst(start + hours(3)) }, guest.accessToken);
  expect(b.status).toBe(201);
  const a = await sys.api.post(`/v1/bookings/${b.body.id}/accept`, {}, host.accessToken);
  expect(a.status).toBe(200);
  expect(a.body.status).toBe("accepted");
  return { id: b.body.id as string, start };
}

test("when a booking without driver is accepted, then one online payment is created, no link, both parties notified, saga done", async () => {
  const v = world.addVehicle(host.id);
  const { id } = await requestAndAccept(v.id);
  const saga = await settled(id);
  expect(saga).toMatchObject({ status: "done", step: 4, attempts: 0, paymentId: world.payments.get(id)!.id });
  expect(world.called("payments.createForBooking").filter((c) => c.params.bookingId === id).map((c) => c.params)).toEqual([
    { bookingId: id, renterId: guest.id, ownerId: host.id, driverId: null, amount: 30_000, platformFee: 4_500, hostAmount: 25_500, currency: "KRW", source: "online" },
  ]);
  expect(world.called("driverLinks.issue").filter((c) => c.params.bookingId === id)).toEqual([]);
  const sent = world.called("notifications.send").filter((c) => c.params.key.startsWith(id)).map((c) => c.params);
  expect(sent).toEqual([
    expect.objectContaining({ key: `${id}:accepted:${guest.id}`, channel: "in_app", userId: guest.id, template: "booking_accepted" }),
    expect.objectContaining({ key: `${id}:accepted:${host.id}`, channel: "in_app", userId: host.id, template: "booking_accepted" }),
  ]);
  expect((await getBooking(id)).paymentId).toBe(world.payments.get(id)!.id);
  await waitFor(() => world.fact("booking.accepted", id).length === 1, "booking.accepted");
});

test("when payment and driver link each fail twice, then retries succeed with one payment, one link (issueKey :1) and one notification each", async () => {
  const driver = world.addDriver(host.id, newPhone());
  const v = world.addVehicle(host.id, { driverId: driver.id });
  world.failures.set("payments.createForBooking", 2);
  world.failures.set("driverLinks.issue", 2);
  const { id, start } = await requestAndAccept(v.id);
  const saga = await settled(id);
  expect(saga.status).toBe("done");
  const creates = world.called("payments.createForBooking").filter((c) => c.params.bookingId === id);
  expect(creates).toHaveLength(3);
  expect(creates[0].params).toMatchObject({ source: "driver_link", driverId: driver.id });
  expect([...world.payments.values()].filter((p) => p.bookingId === id)).toHaveLength(1);
  const issues = world.called("driverLinks.issue").filter((c) => c.params.bookingId === id);
  expect(issues).toHaveLength(3);
  expect(issues[2].params).toEqual({
    bookingId: id,
    paymentId: world.payments.get(id)!.id,
    driverId: driver.id,
    issueKey: `${id}:1`,
    booking: { vehicle: { id: v.id, make: "Hyundai", model: "Avante", licensePlate: "12가3456" }, start: new Date(start).toISOString(), end: new Date(start + hours(3)).toISOString(), expectedAmount: 30_000, currency: "KRW" },
  });
  expect([...world.links.keys()].filter((k) => k.startsWith(id))).toEqual([`${id}:${id}:1`]);
  expect(saga.linkId).toBe(world.links.get(`${id}:${id}:1`)!.linkId);
  expect([...world.inApp.keys()].filter((k) => k.startsWith(id))).toHaveLength(2);
  expect((await getBooking(id)).status).toBe("accepted");
});

test("when a step repeats after it ran (a lost answer), then nothing is charged, linked or notified twice", async () => {
  const driver = world.addDriver(host.id, newPhone());
  const v = world.addVehicle(host.id, { driverId: driver.id });
  const { id } = await requestAndAccept(v.id);
  await settled(id);
  const svc = sys.broker.getLocalService("bookings") as any;
  // Replay every step as a retried job would after a crash before the saga advanced.
  for (const step of [1, 2, 3]) {
    await svc.saga.sagas.updateOne({ _id: id }, { $set: { step, status: "running" } });
    await svc.saga.run(id);
    await waitFor(async () => (await sagaOf(id))?.status === "done", "the replay to finish");
  }
  expect([...world.payments.values()].filter((p) => p.bookingId === id)).toHaveLength(1);
  expect([...world.links.keys()].filter((k) => k.startsWith(id))).toHaveLength(1);
  expect([...world.inApp.keys()].filter((k) => k.startsWith(id))).toHaveLength(2);
});

test("when the payment step keeps failing, then the saga compensates: payment voided, booking cancelled (saga_failed), time released, both told", async () => {
  const v = world.addVehicle(host.id);
  world.failures.set("payments.createForBooking", "always");
  try {
    const { id, start } = await requestAndAccept(v.id);
    const saga = await settled(id);
    expect(saga).toMatchObject({ status: "compensated", trigger: "failure", step: 1, attempts: 5 });
    expect(world.called("payments.createForBooking").filter((c) => c.params.bookingId === id)).toHaveLength(5);
    expect(world.called("payments.voidForBooking").filter((c) => c.params.bookingId === id)).toHaveLength(1);
    expect(world.called("driverLinks.revokeForBooking").filter((c) => c.params.bookingId === id)).toHaveLength(0);
    const b = await getBooking(id);
    expect(b.status).toBe("cancelled");
    expect(b.reason).toMatch(/^saga_failed: payment: SERVICE_UNAVAILABLE/);
    const t = (await sys.api.get(`/v1/bookings/${id}/timeline`, host.accessToken)).body.items;
    expect(t[t.length - 1]).toMatchObject({ from: "accepted", status: "cancelled", actor: { kind: "system" }, reason: b.reason });
    const told = world.called("notifications.send").filter((c) => c.params.key === bookingNoticeKey(id, "cancelled", c.params.userId, "in_app")).map((c) => c.params.userId);
    expect(told.sort()).toEqual([guest.id, host.id].sort());
    await waitFor(() => world.fact("booking.cancelled", id).length === 1, "booking.cancelled");
    const again = await sys.api.post("/v1/bookings", { vehicleId: v.id, start: kst(start), end: kst(start + hours(3)) }, guest2.accessToken);
    expect(again.status).toBe(201);
  } finally {
    world.failures.delete("payments.createForBooking");
  }
});

test("when the driver-link step keeps failing, then the link is revoked and the payment voided, in that order", async () => {
  const driver = world.addDriver(host.id, newPhone());
  const v = world.addVehicle(host.id, { driverId: driver.id });
  world.failures.set("driverLinks.issue", "always");
  try {
    const { id } = await requestAndAccept(v.id);
    const saga = await settled(id);
    expect(saga).toMatchObject({ status: "compensated", step: 2 });
    const undo = world.calls.filter((c) => c.params?.bookingId === id && /revokeForBooking|voidForBooking/.test(c.action)).map((c) => c.action);
    expect(undo).toEqual(["driverLinks.revokeForBooking", "payments.voidForBooking"]);
    expect(world.payments.get(id)!.status).toBe("voided");
    expect((await getBooking(id)).status).toBe("cancelled");
  } finally {
    world.failures.delete("driverLinks.issue");
  }
});

test("when the renter cancels an accepted booking, then the saga undoes the payment and the booking stays cancelled by the renter", async () => {
  const v = world.addVehicle(host.id);
  const { id } = await requestAndAccept(v.id);
  await settled(id);
  const c = await sys.api.post(`/v1/bookings/${id}/cancel`, { reason: "found another car" }, guest.accessToken);
  expect(c.body).toMatchObject({ status: "cancelled", reason: "found another car" });
  await waitFor(async () => (await sagaOf(id))?.status === "compensated", "the saga to compensate");
  expect(world.payments.get(id)!.status).toBe("voided");
  expect((await getBooking(id)).reason).toBe("found another car");
});
