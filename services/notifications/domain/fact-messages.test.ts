import { makeFact } from "../../../lib/facts";
import { messagesForFact } from "./fact-messages";

const booking = (extra: Record<string, unknown> = {}) => ({
  bookingId: "b1", vehicleId: "v1", renterId: "r1", ownerId: "o1", driverId: null, start: "2026-12-01T00:00:00Z", end: "2026-12-01T03:00:00Z",
  status: "cancelled", from: "accepted", actor: { id: "r1", kind: "renter" }, at: "2026-11-30T00:00:00Z",
  price: { hours: 3, hourlyRate: 10_000, total: 30_000, platformFee: 4_500, hostAmount: 25_500, currency: "KRW" }, ...extra,
});

describe("which facts notify whom", () => {
  it("when the renter cancels, then only the owner is told; when the system cancels, both are", () => {
    expect(messagesForFact(makeFact("booking.cancelled", booking())).map((m) => m.userId)).toEqual(["o1"]);
    expect(messagesForFact(makeFact("booking.cancelled", booking({ actor: { id: null, kind: "system" } }))).map((m) => m.userId)).toEqual(["r1", "o1"]);
  });

  it("when a booking is requested, then the owner is told, with the booking's total", () => {
    const [m] = messagesForFact(makeFact("booking.requested", booking({ status: "requested" })));
    expect(m).toMatchObject({ userId: "o1", template: "booking_requested", params: { amount: 30_000, currency: "KRW" }, data: { bookingId: "b1" } });
  });

  it("when a payment is reported unpaid, then the owner is told; facts about nobody tell nobody", () => {
    const pay = { paymentId: "p1", bookingId: "b1", renterId: "r1", ownerId: "o1", driverId: "d1", amount: 1, platformFee: 0, hostAmount: 1, currency: "KRW", status: "unpaid_reported", source: "driver_link", discrepancy: false };
    expect(messagesForFact(makeFact("payment.unpaid_reported", pay)).map((m) => [m.userId, m.template])).toEqual([["o1", "payment_unpaid_reported"]]);
    expect(messagesForFact(makeFact("vehicle.created", { id: "v1" }))).toEqual([]);
  });
});
