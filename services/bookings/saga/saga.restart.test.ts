/**
 * Crash safety, in process: the broker stops while a saga step waits for its
 * retry (the embedded queue holds that retry only in memory); a new broker
 * on the same DATA_DIR resumes the saga from its stored state and finishes it.
 */
import fs from "node:fs";
import { tempDir, waitFor, type TestSystem } from "../../../test/support/system";
import { hours, kst, nextSlot, owner, renter, startBookingsSystem, World } from "../test/fakes";
import type { SagaDoc } from "./saga";

jest.setTimeout(30_000);

const dataDir = tempDir();
let sys: TestSystem | undefined;
afterAll(async () => {
  await sys?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const sagaOf = (s: TestSystem, id: string): Promise<SagaDoc | null> => (s.broker.getLocalService("bookings") as any).saga.sagas.findById(id);

test("when the broker stops mid-saga, then a new broker on the same data resumes it: one payment, notified, done", async () => {
  const before = new World();
  before.failures.set("payments.createForBooking", 1);
  // A long backoff: the retry of the failed payment step is still waiting when the broker stops.
  sys = await startBookingsSystem(before, { DATA_DIR: dataDir, BOOKING_SAGA_BACKOFF: "60s" });
  const [host, guest] = await Promise.all([owner(sys), renter(sys)]);
  const v = before.addVehicle(host.id);
  const start = nextSlot();
  const created = await sys.api.post("/v1/bookings", { vehicleId: v.id, start: kst(start), end: kst(start + hours(2)) }, guest.accessToken);
  const id = created.body.id as string;
  expect((await sys.api.post(`/v1/bookings/${id}/accept`, {}, host.accessToken)).status).toBe(200);
  const mid = await waitFor(async () => {
    const s = await sagaOf(sys!, id);
    return s && s.attempts === 1 && s;
  }, "the first payment try to fail");
  expect(mid).toMatchObject({ status: "running", step: 1, attempts: 1, lastError: expect.stringMatching(/^payment: /) });
  await sys.stop();
  sys = undefined;

  const after = new World();
  after.vehicles.set(v.id, v);
  sys = await startBookingsSystem(after, { DATA_DIR: dataDir });
  const done = await waitFor(async () => {
    const s = await sagaOf(sys!, id);
    return s?.status === "done" && s;
  }, "the resumed saga to finish");
  expect(done.paymentId).toBe(after.payments.get(id)!.id);
  expect(after.called("payments.createForBooking")).toHaveLength(1);
  expect([...after.inApp.keys()].sort()).toEqual([`${id}:accepted:${guest.id}`, `${id}:accepted:${host.id}`].sort());
  // The old session still works after the restart, and the booking shows its payment.
  const b = await sys.api.get(`/v1/bookings/${id}`, guest.accessToken);
  expect(b.body).toMatchObject({ status: "accepted", paymentId: done.paymentId });
});
