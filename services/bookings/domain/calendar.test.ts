/** The per-vehicle calendar on the embedded store: no overlap under concurrency, pruning, release, busy map. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AppError } from "../../../lib/errors";
import { NedbDatabase } from "../../../lib/store/nedb";
import { closeNedb } from "../test/nedb";
import { Calendars, type Hold } from "./calendar";

const H = 3_600_000;
const T0 = Date.parse("2030-01-01T00:00:00Z");
let dir: string;
let now: number;
let cal: Calendars;
let db: NedbDatabase;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "calendar-test-"));
  now = T0;
  db = new NedbDatabase(dir);
  cal = new Calendars(db, () => now);
});
afterEach(async () => {
  await closeNedb(db);
  fs.rmSync(dir, { recursive: true, force: true });
});


const hold = (bookingId: string, startH: number, endH: number): Hold => ({
  bookingId,
  start: new Date(T0 + startH * H).toISOString(),
  end: new Date(T0 + endH * H).toISOString(),
  at: new Date(now).toISOString(),
});

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return err instanceof AppError ? String(err.type) : String(err);
  }
}

test("when 50 overlapping holds race for a vehicle with no calendar yet, then exactly one wins and 49 get BOOKING_CONFLICT", async () => {
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => outcome(cal.reserve("car", hold(`b${i}`, 10 + (i % 4), 14 + (i % 4))))));
  expect(results.filter((r) => r === "ok")).toHaveLength(1);
  expect(results.filter((r) => r === "BOOKING_CONFLICT")).toHaveLength(49);
  expect(await cal.holds("car")).toHaveLength(1);
});

test("when 30 disjoint holds race for one vehicle, then all are kept (lost races are retried, nothing overwritten)", async () => {
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => outcome(cal.reserve("car", hold(`b${i}`, 2 * i, 2 * i + 2)))));
  expect(results.every((r) => r === "ok")).toBe(true);
  const holds = await cal.holds("car");
  expect(holds.map((h) => h.bookingId).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `b${i}`).sort());
  expect((await cal.docs.findById("car"))!.version).toBe(30);
});

test("when a conflict is reported, then it names the window it hits; touching windows do not conflict", async () => {
  await cal.reserve("car", hold("a", 10, 12));
  await expect(cal.reserve("car", hold("b", 11, 13))).rejects.toMatchObject({ type: "BOOKING_CONFLICT", data: { conflicting: { start: hold("a", 10, 12).start, end: hold("a", 10, 12).end } } });
  await cal.reserve("car", hold("c", 12, 13));
  await cal.reserve("car", hold("d", 8, 10));
  await cal.reserve("car", hold("a", 10, 12)); // the same booking again: idempotent
  expect((await cal.holds("car")).map((h) => h.bookingId).sort()).toEqual(["a", "c", "d"]);
});

test("when holds have ended, then the next write prunes them", async () => {
  await cal.reserve("car", hold("old", 1, 2));
  now = T0 + 3 * H;
  await cal.reserve("car", hold("new", 5, 6));
  expect((await cal.docs.findById("car"))!.holds.map((h) => h.bookingId)).toEqual(["new"]);
});

test("when a hold is released, then its time is free; releasing again is a no-op", async () => {
  await cal.reserve("car", hold("a", 10, 12));
  expect(await cal.release("car", "a")).toBe(true);
  expect(await cal.release("car", "a")).toBe(false);
  expect(await cal.release("other", "a")).toBe(false);
  await cal.reserve("car", hold("b", 10, 12));
});

test("when busy time is asked for several vehicles, then each gets its overlapping windows in order, unknown ones none", async () => {
  await cal.reserve("v1", hold("a", 30, 32));
  await cal.reserve("v1", hold("b", 10, 12));
  await cal.reserve("v1", hold("c", 50, 52));
  await cal.reserve("v2", hold("d", 0, 1));
  const busy = await cal.busy(["v1", "v2", "v3"], hold("x", 11, 31).start, hold("x", 11, 31).end);
  expect(busy).toEqual({ v1: [{ start: hold("b", 10, 12).start, end: hold("b", 10, 12).end }, { start: hold("a", 30, 32).start, end: hold("a", 30, 32).end }], v2: [], v3: [] });
});
