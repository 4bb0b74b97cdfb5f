/**
 * Booking use cases on the embedded store with a controlled clock: nothing
 * half-written when the booking write fails, and the sweeps that repair what
 * a crash leaves (orphan holds, unfinished releases, unpublished facts,
 * lost expiry timers).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { VehicleView } from "../../../lib/contracts";
import { AppError } from "../../../lib/errors";
import { NedbDatabase } from "../../../lib/store/nedb";
import { closeNedb } from "../test/nedb";
import { Bookings, ORPHAN_AFTER_MS, type Publish } from "./bookings";
import { checkWindow } from "./window";

const H = 3_600_000;
const T0 = Date.parse("2030-01-01T00:00:00Z");
const cfg = { platformFeeBps: 1500, bookings: { requestTtlMs: 24 * H, maxDays: 30, sagaAttempts: 5, sagaBackoffMs: 500, sweepIntervalMs: 60_000 } };
const log = { warn: () => undefined, info: () => undefined };

let dir: string;
let db: NedbDatabase;
let now: number;
let published: { type: string; id: string; data: any }[];
let publishFails: boolean;
let bookings: Bookings;

const vehicle: VehicleView = {
  id: "car", ownerId: "owner", driverId: null, status: "active", licensePlate: "12가3456", make: "Kia", model: "Ray", year: 2022,
  hourlyRate: 5000, currency: "KRW", timezone: "Asia/Seoul", location: { address: "Seoul", lat: 37.5, lng: 127 },
};

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "bookings-test-"));
  db = new NedbDatabase(dir);
  now = T0;
  published = [];
  publishFails = false;
  const publish: Publish = async (type, data, id) => {
    if (publishFails) throw new Error("NATS is down");
    published.push({ type, id, data });
  };
  bookings = new Bookings(db, cfg, publish, log, () => now);
});
afterEach(async () => {
  await closeNedb(db);
  fs.rmSync(dir, { recursive: true, force: true });
});

const win = (startH: number, endH: number) => checkWindow(new Date(T0 + startH * H).toISOString(), new Date(T0 + endH * H).toISOString(), { now, maxDays: 30 });
const request = (startH: number, endH: number, renterId = "renter") => bookings.create({ vehicle, renterId, window: win(startH, endH) });

test("when writing the booking fails after the hold was taken, then the hold is released and the error surfaces", async () => {
  const insert = jest.spyOn(bookings.records, "insert").mockRejectedValueOnce(new AppError("SERVICE_UNAVAILABLE", "db down"));
  await expect(request(10, 12)).rejects.toMatchObject({ type: "SERVICE_UNAVAILABLE" });
  insert.mockRestore();
  expect(await bookings.calendars.holds("car")).toEqual([]);
  expect(await bookings.records.count({})).toBe(0);
  await request(10, 12);
});

test("when a hold's booking was never written (a crash between the two writes), then the sweep frees it after the grace time only", async () => {
  const kept = await request(20, 22);
  await bookings.calendars.reserve("car", { bookingId: "ghost", start: new Date(T0 + 10 * H).toISOString(), end: new Date(T0 + 12 * H).toISOString(), at: new Date(now).toISOString() });
  expect(await bookings.releaseOrphanHolds(0)).toBe(0); // too young: its booking may still be being written
  now += ORPHAN_AFTER_MS + 1000;
  expect(await bookings.releaseOrphanHolds(0)).toBe(1);
  expect((await bookings.calendars.holds("car")).map((h) => h.bookingId)).toEqual([kept._id]);
});

test("when a release was interrupted after the status change, then the sweep finishes it", async () => {
  const b = await request(10, 12);
  jest.spyOn(bookings.calendars, "release").mockRejectedValueOnce(new Error("crash"));
  const declined = await bookings.transition(b._id, { from: ["requested"], to: "declined", actor: { id: "owner", kind: "owner" } });
  expect(declined.holdState).toBe("releasing");
  expect(await bookings.calendars.holds("car")).toHaveLength(1);
  expect(await bookings.releasePending()).toBe(1);
  expect(await bookings.calendars.holds("car")).toEqual([]);
  expect((await bookings.get(b._id)).holdState).toBe("released");
});

test("when publishing fails, then the facts stay pending and the sweep publishes them in order with stable ids", async () => {
  publishFails = true;
  const b = await request(10, 12);
  await bookings.transition(b._id, { from: ["requested"], to: "cancelled", actor: { id: "renter", kind: "renter" }, reason: "oops" });
  expect(published).toEqual([]);
  expect((await bookings.get(b._id)).factsPending).toBe(true);
  publishFails = false;
  now += 60_000;
  expect(await bookings.flushPendingFacts(30_000)).toBe(1);
  expect(published.map((p) => [p.type, p.id])).toEqual([
    ["booking.requested", `booking:${b._id}:1`],
    ["booking.cancelled", `booking:${b._id}:2`],
  ]);
  expect(published[1].data).toMatchObject({ bookingId: b._id, status: "cancelled", from: "requested", reason: "oops", actor: { id: "renter", kind: "renter" }, price: { total: 10_000 } });
  expect(await bookings.get(b._id)).toMatchObject({ factsPending: false, factsRev: 2 });
  expect(await bookings.flushPendingFacts(0)).toBe(0);
});

test("when requests pass their deadline without a timer, then the sweep expires exactly those and frees their time", async () => {
  const old = await request(100, 102);
  now += 2 * H;
  const young = await request(200, 202);
  now = Date.parse(old.expiresAt);
  expect(await bookings.expireOverdue()).toBe(1);
  expect((await bookings.get(old._id)).status).toBe("expired");
  expect((await bookings.get(young._id)).status).toBe("requested");
  expect((await bookings.calendars.holds("car")).map((h) => h.bookingId)).toEqual([young._id]);
});

test("when two transitions race, then exactly one applies and the other sees INVALID_STATE", async () => {
  const b = await request(10, 12);
  const results = await Promise.allSettled([
    bookings.transition(b._id, { from: ["requested"], to: "accepted", actor: { id: "owner", kind: "owner" } }),
    bookings.transition(b._id, { from: ["requested"], to: "cancelled", actor: { id: "renter", kind: "renter" } }),
    bookings.transition(b._id, { from: ["requested"], to: "declined", actor: { id: "owner", kind: "owner" } }),
  ]);
  expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  expect(results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason.type)).toEqual(["INVALID_STATE", "INVALID_STATE"]);
  const final = await bookings.get(b._id);
  expect(final.timeline).toHaveLength(2);
  expect(final.rev).toBe(2);
});

test("when confirmPayment repeats or names another payment, then it is a no-op or 409", async () => {
  const b = await request(10, 12);
  await bookings.transition(b._id, { from: ["requested"], to: "accepted", actor: { id: "owner", kind: "owner" } });
  const first = await bookings.confirmPayment(b._id, "pay1");
  expect(first).toMatchObject({ status: "confirmed", paymentId: "pay1" });
  expect((await bookings.confirmPayment(b._id, "pay1")).rev).toBe(first.rev);
  await expect(bookings.confirmPayment(b._id, "pay2")).rejects.toMatchObject({ type: "CONFLICT" });
});

test("when the driver's answer and the payment.paid fact confirm one payment at the same moment, then both get the confirmed booking", async () => {
  for (let round = 0; round < 5; round++) {
    const b = await request(40 + round * 3, 42 + round * 3);
    await bookings.transition(b._id, { from: ["requested"], to: "accepted", actor: { id: "owner", kind: "owner" } });
    const answers = await Promise.all([bookings.confirmPayment(b._id, "pay1"), bookings.confirmPayment(b._id, "pay1"), bookings.confirmPayment(b._id, "pay1")]);
    expect(answers.map((a) => a.status)).toEqual(["confirmed", "confirmed", "confirmed"]);
    const stored = await bookings.get(b._id);
    expect(stored.timeline.filter((t) => t.status === "confirmed")).toHaveLength(1);
  }
});
