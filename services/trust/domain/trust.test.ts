/**
 * The trust domain on real embedded stores (NeDB files in a temp folder):
 * idempotent consumption, order-insensitivity, incremental == recompute,
 * ratings and their reveal, flags and overrides, analytics.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AuthUser } from "../../../lib/auth-types";
import type { Fact } from "../../../lib/events";
import { NedbDatabase } from "../../../lib/store/nedb";
import { bookingFacts, kycFact, overrideFact, randomHistory, reportFacts, rng, type BookingStory } from "../test/facts";
import { Trust, type Effects } from "./trust";

jest.setTimeout(60_000);

const DAY = 86_400_000;
const open: NedbDatabase[] = [];
const dirs: string[] = [];

function world(options: { now?: () => number; revealAfterMs?: number } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trust-domain-"));
  dirs.push(dir);
  const db = new NedbDatabase(dir);
  open.push(db);
  const published: { type: string; data: any; id: string }[] = [];
  const audits: { entry: any; id: string }[] = [];
  const effects: Effects = {
    publish: async (type, data, id) => void published.push({ type, data, id }),
    audit: async (entry, id) => void audits.push({ entry, id }),
  };
  const trust = new Trust(db, effects, { revealAfterMs: options.revealAfterMs ?? 14 * DAY, now: options.now });
  return { trust, published, audits };
}

afterAll(async () => {
  for (const db of open) await db.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const admin: AuthUser = { id: "admin-1", roles: ["renter", "admin"], sid: "s" };
const as = (id: string): AuthUser => ({ id, roles: ["renter", "owner"], sid: "s" });

/** Everything a client can read, for every subject and day the history touches. */
async function snapshot(trust: Trust, subjects: string[], from: string, to: string) {
  const scores: Record<string, unknown> = {};
  for (const key of subjects) {
    const { updatedAt: _u, ...view } = await trust.scores.view(key, true);
    scores[key] = view;
  }
  return { scores, analytics: await trust.analytics({ from, to, daily: true }) };
}

function subjectsOf(facts: Fact<any>[]): string[] {
  const keys = new Set<string>();
  for (const f of facts) {
    const d = f.data;
    for (const u of [d.renterId, d.ownerId, d.userId]) if (u) keys.add(`user:${u}`);
    if (d.driverId) keys.add(`driver:${d.driverId}`);
  }
  return [...keys].sort();
}

describe("consuming facts", () => {
  test("when the same facts are delivered twice, even at once, then the state is as after one delivery", async () => {
    const facts = randomHistory(7, { bookings: 12 });
    const once = world();
    for (const f of facts) await once.trust.consume(f);
    const twice = world();
    for (const f of facts) await Promise.all([twice.trust.consume(f), twice.trust.consume(f)]);
    const announced = twice.published.length;
    for (const f of facts) await twice.trust.consume(f);
    const keys = subjectsOf(facts);
    expect(await snapshot(twice.trust, keys, "2026-01-08", "2026-01-20")).toEqual(await snapshot(once.trust, keys, "2026-01-08", "2026-01-20"));
    // A repeat announces nothing new (two concurrent copies may announce one change twice, under the same fact id).
    expect(twice.published.length).toBe(announced);
    const updates = (w: { published: { type: string; data: any }[] }) => w.published.filter((p) => p.type === "trust.updated");
    const last = (w: typeof once) => Object.fromEntries(updates(w).map((p) => [`${p.data.subjectType}:${p.data.subjectId}`, p.data.score]));
    expect(last(twice)).toEqual(last(once));
  });

  test.each([1, 2, 3, 4, 5])("when a random history (seed %i) arrives shuffled, duplicated and concurrently, then the incremental state equals a full recompute from the stored facts", async (seed) => {
    const facts = randomHistory(seed);
    const r = rng(seed * 31);
    const deliveries = r.shuffle([...facts, ...facts.filter(() => r.next() < 0.3)]);

    const incremental = world();
    for (let i = 0; i < deliveries.length; i += 4) await Promise.all(deliveries.slice(i, i + 4).map((f) => incremental.trust.consume(f)));

    // The same facts only logged (in another order), then one recompute builds everything.
    const rebuilt = world();
    for (const f of r.shuffle(facts)) await rebuilt.trust.log.insert({ _id: f.id, type: f.type, version: f.version, occurredAt: f.occurredAt, data: f.data, loggedAt: new Date().toISOString() });
    const result = await rebuilt.trust.recompute();
    expect(result.facts).toBe(facts.length);

    const keys = subjectsOf(facts);
    const a = await snapshot(incremental.trust, keys, "2026-01-05", "2026-01-20");
    const b = await snapshot(rebuilt.trust, keys, "2026-01-05", "2026-01-20");
    expect(a).toEqual(b);
    expect(a.analytics.bookings.ended).toBeGreaterThan(0);

    // And recomputing the incremental state finds nothing to change.
    const again = await incremental.trust.recompute();
    expect(again.changed).toEqual({ subjects: [], days: [] });
    expect(again.subjects).toBeGreaterThanOrEqual(keys.length);
  });
});

describe("what the facts mean", () => {
  const story = (over: Partial<BookingStory>): BookingStory => ({ bookingId: "b", vehicleId: "v1", renterId: "r1", ownerId: "o1", driverId: "d1", path: ["requested", "accepted", "confirmed", "active", "completed"], at: Date.UTC(2026, 1, 1, 9), ...over });

  test("when a booking's facts arrive in reverse, then its status is the latest one and the driver the accepted one", async () => {
    const { trust } = world();
    const facts = bookingFacts(story({ bookingId: "b-rev", requestDriverId: "d-old" }));
    for (const f of [...facts].reverse()) await trust.consume(f);
    const row = await trust.models.bookings.findById("b-rev");
    expect(row).toMatchObject({ status: "completed", driverId: "d1", parties: ["user:r1", "user:o1", "driver:d1"] });
    expect(row?.requestedAt).toBe(facts[0].data.at);
    expect((await trust.scores.view("driver:d1", false)).components.completionRate).toMatchObject({ completed: 1, failed: 0 });
    expect((await trust.scores.view("driver:d-old", false)).components.completionRate).toMatchObject({ completed: 0 });
  });

  test("cancellations count against their actor; declines and expiries against the owner; the system's against nobody", async () => {
    const { trust } = world();
    const base = { renterId: "r2", ownerId: "o2", driverId: null };
    for (const f of [
      ...bookingFacts(story({ ...base, bookingId: "c1", path: ["requested", "cancelled"], cancelledBy: "renter" })),
      ...bookingFacts(story({ ...base, bookingId: "c2", path: ["requested", "accepted", "cancelled"], cancelledBy: "owner" })),
      ...bookingFacts(story({ ...base, bookingId: "c3", path: ["requested", "declined"] })),
      ...bookingFacts(story({ ...base, bookingId: "c4", path: ["requested", "expired"] })),
      ...bookingFacts(story({ ...base, bookingId: "c5", path: ["requested", "accepted", "cancelled"], cancelledBy: "system" })),
      ...bookingFacts(story({ ...base, bookingId: "c6" })),
    ]) await trust.consume(f);
    expect((await trust.scores.view("user:r2", false)).components.completionRate).toMatchObject({ completed: 1, failed: 1, rate: 0.5 });
    expect((await trust.scores.view("user:o2", false)).components.completionRate).toMatchObject({ completed: 1, failed: 3, rate: 0.25 });
  });

  test("when a driver reports short, or unpaid, then the driver's and the renter's payment accuracy count it", async () => {
    const { trust } = world();
    const pay = (n: number) => ({ paymentId: `p${n}`, bookingId: `pb${n}`, renterId: "r3", ownerId: "o3", driverId: "d3", amount: 50_000 });
    for (const f of [...reportFacts(pay(1), "l1", { paid: true }), ...reportFacts(pay(2), "l2", { paid: true, amount: 40_000 }), ...reportFacts(pay(3), "l3", { paid: false })]) await trust.consume(f);
    for (const key of ["driver:d3", "user:r3"]) {
      expect((await trust.scores.view(key, false)).components.paymentAccuracy).toMatchObject({ reports: 3, accurate: 1, discrepancies: 1, unpaid: 1 });
    }
    expect((await trust.scores.view("user:o3", false)).components.paymentAccuracy.reports).toBe(0);
  });

  test("when a payment is paid, refunded and paid again, then its revenue stays on the first day and the refund shows on its own", async () => {
    const { trust } = world();
    const pay = { paymentId: "rp1", bookingId: "rpb1", renterId: "r4", ownerId: "o4", driverId: null, amount: 20_000 };
    const d1 = Date.UTC(2026, 4, 1, 10);
    for (const f of [overrideFact(pay, "paid", 4, d1 + 2 * DAY), overrideFact(pay, "refunded", 3, d1 + DAY), overrideFact(pay, "paid", 2, d1)]) await trust.consume(f);
    const daily = (await trust.analytics({ from: "2026-05-01", to: "2026-05-03", daily: true })).daily!;
    expect(daily.map((d) => d.money)).toEqual([
      [{ currency: "KRW", payments: 1, gross: 20_000, reported: 20_000, platformFee: 3_000, hostAmount: 17_000, refunds: 0, refunded: 0 }],
      [{ currency: "KRW", payments: 0, gross: 0, reported: 0, platformFee: 0, hostAmount: 0, refunds: 1, refunded: 20_000 }],
      [],
    ]);
  });

  test("when KYC is submitted and then approved, in either order of arrival, then the user's KYC component is approved and the review time is measured", async () => {
    const { trust } = world();
    const t = Date.UTC(2026, 2, 3, 10);
    await trust.consume(kycFact("k1", "approved", 2, t + 5 * 3_600_000));
    await trust.consume(kycFact("k1", "submitted", 1, t));
    expect((await trust.scores.view("user:k1", false)).components.kyc).toMatchObject({ status: "approved", value: 1 });
    const a = await trust.analytics({ from: "2026-03-03", to: "2026-03-03" });
    expect(a.kyc).toMatchObject({ queue: 0, submitted: 1, approved: 1, reviewed: 1, averageReviewHours: 5 });
    await trust.consume(kycFact("k2", "submitted", 1, t));
    expect((await trust.analytics({ from: "2026-03-03", to: "2026-03-03" })).kyc.queue).toBe(1);
  });
});

describe("ratings", () => {
  let clock = Date.UTC(2026, 3, 1, 12);
  const completed = (id: string, driverId: string | null = "dr") =>
    bookingFacts({ bookingId: id, vehicleId: "car", renterId: "ren", ownerId: "own", driverId, path: ["requested", "accepted", "confirmed", "active", "completed"], at: clock - 3_600_000 });

  test("when only the renter rated, then nothing shows until the owner rates too; then both show and count", async () => {
    const { trust, published } = world({ now: () => clock });
    for (const f of completed("rb1")) await trust.consume(f);
    const first = await trust.rate(as("ren"), "rb1", { target: "vehicle", score: 5, categories: { cleanliness: 5 }, comment: "spotless", recommend: true });
    expect(first).toMatchObject({ id: "rb1:ren:vehicle", revealed: false, subjectType: "vehicle", subjectId: "car" });
    await trust.rate(as("ren"), "rb1", { target: "owner", score: 4 });
    expect((await trust.ratings.list("vehicle:car", { limit: 10 })).items).toEqual([]);
    expect((await trust.scores.view("user:own", false)).components.ratings.count).toBe(0);

    const back = await trust.rate(as("own"), "rb1", { target: "renter", score: 3 });
    expect(back.revealed).toBe(true);
    const list = await trust.ratings.list("vehicle:car", { limit: 10 });
    expect(list.items.map((i) => i.id)).toEqual(["rb1:ren:vehicle"]);
    expect(list.summary).toMatchObject({ count: 1, average: 5, categories: { cleanliness: 5, punctuality: null }, recommendRate: 1 });
    expect((await trust.scores.view("user:own", false)).components.ratings).toMatchObject({ count: 1, average: 4 });
    expect((await trust.scores.view("user:ren", false)).components.ratings).toMatchObject({ count: 1, average: 3 });
    expect(published.filter((p) => p.type === "rating.created")).toHaveLength(3);
  });

  test("when the reveal window ends without the other side, then the sweep shows the rating", async () => {
    const { trust } = world({ now: () => clock });
    for (const f of completed("rb2")) await trust.consume(f);
    await trust.rate(as("ren"), "rb2", { target: "driver", score: 2 });
    expect(await trust.revealDue()).toBe(0);
    clock += 14 * DAY;
    expect(await trust.revealDue()).toBe(1);
    expect((await trust.ratings.list("driver:dr", { limit: 10 })).items).toHaveLength(1);
    expect((await trust.scores.view("driver:dr", false)).components.ratings).toMatchObject({ count: 1, average: 2 });
  });

  test("the rules: parties only, completed only, each target once, a driver only if there was one", async () => {
    const { trust } = world({ now: () => clock });
    for (const f of completed("rb3", null)) await trust.consume(f);
    for (const f of bookingFacts({ bookingId: "rb4", vehicleId: "car", renterId: "ren", ownerId: "own", path: ["requested", "accepted"] })) await trust.consume(f);
    await expect(trust.rate(as("stranger"), "rb3", { target: "vehicle", score: 5 })).rejects.toMatchObject({ type: "FORBIDDEN" });
    await expect(trust.rate(as("own"), "rb3", { target: "vehicle", score: 5 })).rejects.toMatchObject({ type: "FORBIDDEN" });
    await expect(trust.rate(as("ren"), "rb3", { target: "renter", score: 5 })).rejects.toMatchObject({ type: "FORBIDDEN" });
    await expect(trust.rate(as("ren"), "rb3", { target: "driver", score: 5 })).rejects.toMatchObject({ type: "BAD_REQUEST" });
    await expect(trust.rate(as("ren"), "rb4", { target: "vehicle", score: 5 })).rejects.toMatchObject({ type: "INVALID_STATE" });
    await expect(trust.rate(as("ren"), "nope", { target: "vehicle", score: 5 })).rejects.toMatchObject({ type: "NOT_FOUND" });
    await trust.rate(as("ren"), "rb3", { target: "vehicle", score: 5 });
    await expect(trust.rate(as("ren"), "rb3", { target: "vehicle", score: 4 })).rejects.toMatchObject({ type: "DUPLICATE" });
  });
});

describe("flags and overrides", () => {
  test("when a user is flagged, then the score drops and the components show it; resolving lifts it; all audited", async () => {
    const { trust, audits, published } = world();
    const before = (await trust.scores.view("user:f1", false)).score;
    const flag = await trust.raiseFlag(admin, { subjectType: "user", subjectId: "f1", reason: "fake documents" });
    const flagged = await trust.scores.view("user:f1", false);
    expect(flagged.score).toBeLessThan(before);
    expect(flagged.components.disputes).toMatchObject({ openFlags: 1, value: 0.5 });
    await trust.resolveFlag(admin, flag.id, "documents re-checked");
    expect((await trust.scores.view("user:f1", false)).score).toBe(before);
    await expect(trust.resolveFlag(admin, flag.id)).rejects.toMatchObject({ type: "INVALID_STATE" });
    expect(audits.map((a) => a.entry.action)).toEqual(["flag.raise", "flag.resolve"]);
    expect(published.filter((p) => p.type === "trust.updated").map((p) => p.data.score)).toEqual([63, before]);
  });

  test("when an admin overrides a score, then it shows beside the computed one until cleared", async () => {
    const { trust, audits } = world();
    const view = await trust.setOverride(admin, "user", "o9", 10, "chargeback fraud");
    expect(view).toMatchObject({ score: 71, effectiveScore: 10, override: { score: 10, reason: "chargeback fraud", setBy: "admin-1" } });
    expect((await trust.scores.view("user:o9", false)).override).toEqual({ score: 10, setAt: expect.any(String) });
    await trust.clearOverride(admin, "user", "o9");
    expect((await trust.scores.view("user:o9", false)).override).toBeUndefined();
    await expect(trust.clearOverride(admin, "user", "o9")).rejects.toMatchObject({ type: "NOT_FOUND" });
    expect(audits.map((a) => a.entry.action)).toEqual(["trust.override", "trust.override.clear"]);
  });
});

describe("races", () => {
  test("when all of a booking's facts arrive at the same moment, for many bookings, then every booking ends in its last status", async () => {
    const { trust } = world();
    const stories = Array.from({ length: 40 }, (_, i) => bookingFacts({ bookingId: `race-${i}`, vehicleId: "v", renterId: "rr", ownerId: "oo", driverId: null, path: ["requested", "accepted", "confirmed", "active", "completed"], at: Date.UTC(2026, 5, 1) }));
    await Promise.all(stories.map((facts) => Promise.all(rng(stories.indexOf(facts)).shuffle(facts).map((f) => trust.consume(f)))));
    const rows = await trust.models.bookings.find({ vehicleId: "v" });
    expect(rows.filter((r) => r.status !== "completed").map((r) => `${r._id}:${r.status}`)).toEqual([]);
    expect((await trust.scores.view("user:oo", false)).components.completionRate.completed).toBe(40);
  });

  test("when a newer KYC version finds no row and an older one is inserted before it can insert, then the newer one still wins", async () => {
    const { trust } = world();
    const kyc = trust.models.kyc;
    const update = kyc.updateOne.bind(kyc);
    const insert = kyc.insert.bind(kyc);
    let release!: () => void;
    const olderInserted = new Promise<void>((r) => (release = r));
    let held = false;
    kyc.updateOne = async (filter, change) => {
      const res = await update(filter, change);
      if (!held && (filter as any).version?.$lt === 4) {
        held = true;
        await olderInserted; // the newer fact pauses right after its update found nothing
      }
      return res;
    };
    kyc.insert = async (doc) => {
      const res = await insert(doc);
      if (doc.version === 1) release();
      return res;
    };
    const newer = trust.consume(kycFact("kx", "approved", 4));
    await trust.consume(kycFact("kx", "submitted", 1));
    await newer;
    expect(await trust.models.kyc.findById("kx")).toMatchObject({ version: 4, status: "approved" });
  });

  test("when a user's KYC versions arrive at the same moment, then the newest wins", async () => {
    const { trust } = world();
    for (let u = 0; u < 20; u++) {
      const facts = [kycFact(`ku${u}`, "submitted", 1), kycFact(`ku${u}`, "rejected", 2), kycFact(`ku${u}`, "submitted", 3), kycFact(`ku${u}`, "approved", 4)];
      await Promise.all(rng(u).shuffle(facts).map((f) => trust.consume(f)));
    }
    const rows = await trust.models.kyc.find({});
    expect(rows.filter((r) => r.version !== 4 || r.status !== "approved")).toEqual([]);
  });
});
