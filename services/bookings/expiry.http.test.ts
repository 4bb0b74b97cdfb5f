/** Unanswered requests expire after BOOKING_REQUEST_TTL (1 s here) and give their time back. */
import { startSystem, waitFor, type TestSystem } from "../../test/support/system";
import { fakePeers, hours, kst, nextSlot, owner, renter, World, type User } from "./test/fakes";

jest.setTimeout(30_000);

const world = new World();
let sys: TestSystem;
let host: User;
let guest: User;

beforeAll(async () => {
  sys = await startSystem({ SERVICES: "gateway,auth,bookings", BOOKING_REQUEST_TTL: "1s" }, { extraServices: fakePeers(world) });
  [host, guest] = await Promise.all([owner(sys), renter(sys)]);
});
afterAll(() => sys.stop());

const book = (u: User, vehicleId: string, start: number) => sys.api.post("/v1/bookings", { vehicleId, start: kst(start), end: kst(start + hours(2)) }, u.accessToken);

test("when the owner does not answer within the TTL, then the request expires, its time is free and the owner can no longer accept", async () => {
  const v = world.addVehicle(host.id);
  const start = nextSlot();
  const created = await book(guest, v.id, start);
  expect(created.status).toBe(201);
  expect(Date.parse(created.body.expiresAt) - Date.parse(created.body.createdAt)).toBe(1000);
  const expired = await waitFor(async () => {
    const b = await sys.api.get(`/v1/bookings/${created.body.id}`, guest.accessToken);
    return b.body.status === "expired" && b.body;
  }, "the request to expire", 5000);
  expect(expired.expiresAt).toBeUndefined();
  const accept = await sys.api.post(`/v1/bookings/${created.body.id}/accept`, {}, host.accessToken);
  expect(accept.status).toBe(409);
  expect(accept.body.error.code).toBe("INVALID_STATE");
  const t = await sys.api.get(`/v1/bookings/${created.body.id}/timeline`, host.accessToken);
  expect(t.body.items[1]).toMatchObject({ from: "requested", status: "expired", actor: { id: null, kind: "system" }, reason: "not answered in time" });
  await waitFor(() => world.fact("booking.expired", created.body.id).length === 1, "booking.expired");
  expect((await book(guest, v.id, start)).status).toBe(201);
});
