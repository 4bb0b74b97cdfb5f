/**
 * The nearby search over a real NeDB store: query checks, equality with a
 * brute-force scan, paging through every result exactly once, one batched
 * busy lookup per page, and work that follows the page size, not the fleet.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BusyMap } from "../../../lib/contracts";
import { NedbDatabase } from "../../../lib/store/nedb";
import type { Collection } from "../../../lib/store";
import { haversineKm, type LatLng } from "./geo";
import { cellsOf, type VehicleRecord } from "./model";
import { candidatesFor, decodeCursor, encodeCursor, parseSearchQuery, VehicleSearch, type SearchQuery } from "./search";

const CITY_HALL: LatLng = { lat: 37.5663, lng: 126.9779 };
const BUSAN: LatLng = { lat: 35.1796, lng: 129.0756 };
const HOUR = 3_600_000;

function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function vehicle(i: number, at: LatLng, extra: Partial<VehicleRecord> = {}): VehicleRecord {
  const id = `v${String(i).padStart(6, "0")}`;
  return {
    _id: id, ownerId: "o1", driverId: null, status: "active", licensePlate: `${i}`, plateKey: `${i}`, make: i % 3 ? "Hyundai" : "Kia", makeKey: i % 3 ? "hyundai" : "kia",
    model: i % 2 ? "Avante" : "Sonata", year: 2022, seats: 2 + (i % 6), fuelType: i % 4 ? "gasoline" : "electric", hourlyRate: 5_000 + (i % 10) * 1_000, currency: "KRW",
    timezone: "Asia/Seoul", location: { address: `addr ${i}`, ...at }, cells: cellsOf(at.lat, at.lng), photos: [], version: 1,
    createdAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-01T00:00:00.000Z", ...extra,
  };
}

function around(centre: LatLng, maxKm: number, r: () => number): LatLng {
  const d = maxKm * Math.sqrt(r());
  const bearing = r() * 2 * Math.PI;
  return { lat: centre.lat + (d / 111.2) * Math.cos(bearing), lng: centre.lng + (d / (111.2 * Math.cos((centre.lat * Math.PI) / 180))) * Math.sin(bearing) };
}

describe("parseSearchQuery", () => {
  const bad = (raw: Record<string, unknown>) => {
    try {
      parseSearchQuery(raw);
    } catch (err: any) {
      return (err.data as { field: string }[]).map((d) => d.field);
    }
    throw new Error("expected a validation error");
  };

  test("when only the point is given, then the defaults apply", () => {
    const q = parseSearchQuery({ lat: "37.5", lng: "127" });
    expect(q).toMatchObject({ lat: 37.5, lng: 127, radiusKm: 5, limit: 20 });
    expect(q.window).toBeUndefined();
  });

  test("when a window is given with offsets, then it is kept in UTC", () => {
    const q = parseSearchQuery({ lat: "37.5", lng: "127", start: "2026-12-01T09:00:00+09:00", end: "2026-12-01T12:00:00+09:00" });
    expect(q.window).toMatchObject({ start: "2026-12-01T00:00:00.000Z", end: "2026-12-01T03:00:00.000Z" });
  });

  test("when lat comes without lng (or neither), then both are reported", () => {
    expect(bad({ lat: "37.5" })).toEqual(["lng"]);
    expect(bad({})).toEqual(["lat", "lng"]);
  });

  test("when numbers are not numbers or out of range, then each is named", () => {
    expect(bad({ lat: "abc", lng: "127" })).toEqual(["lat"]);
    expect(bad({ lat: "91", lng: "181" })).toEqual(["lat", "lng"]);
    expect(bad({ lat: "37", lng: "127", radiusKm: "51" })).toEqual(["radiusKm"]);
    expect(bad({ lat: "37", lng: "127", radiusKm: "0" })).toEqual(["radiusKm"]);
    expect(bad({ lat: "37", lng: "127", radiusKm: "-1" })).toEqual(["radiusKm"]);
    expect(bad({ lat: "37", lng: "127", radiusKm: "1e2" })).toEqual(["radiusKm"]);
    expect(bad({ lat: "37", lng: "127", minSeats: "2.5", maxHourlyRate: "x", limit: "101" })).toEqual(["minSeats", "maxHourlyRate", "limit"]);
  });

  test("when the window is reversed, empty, one-sided or without offsets, then it is refused", () => {
    const p = { lat: "37", lng: "127" };
    expect(bad({ ...p, start: "2026-12-01T10:00:00+09:00", end: "2026-12-01T10:00:00+09:00" })).toEqual(["end"]);
    expect(bad({ ...p, start: "2026-12-01T10:00:00+09:00", end: "2026-12-01T09:00:00+09:00" })).toEqual(["end"]);
    expect(bad({ ...p, start: "2026-12-01T10:00:00+09:00" })).toEqual(["end"]);
    expect(bad({ ...p, start: "2026-12-01T10:00:00", end: "2026-12-01T11:00:00+09:00" })).toEqual(["start"]);
  });

  test("when enums or the cursor are wrong, then they are refused", () => {
    expect(bad({ lat: "37", lng: "127", fuelType: "steam", transmission: "cvt", cursor: "nonsense" })).toEqual(["fuelType", "transmission", "cursor"]);
  });

  test("when a cursor is encoded, then it decodes to the same distance and id", () => {
    const c = { d: 1.2345678901234567, id: "abc" };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
  });
});

describe("VehicleSearch on NeDB", () => {
  let dir: string;
  let db: NedbDatabase;
  let coll: Collection<VehicleRecord>;
  let fleet: VehicleRecord[];
  const search = () => new VehicleSearch(coll, 1500);
  const noBusy = async (ids: string[], _start?: string, _end?: string): Promise<BusyMap> => Object.fromEntries(ids.map((id) => [id, []]));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "vehicles-search-"));
    db = new NedbDatabase(dir);
    coll = db.collection<VehicleRecord>("vehicles", [{ fields: { cells: 1 } }]);
    const r = rng(42);
    fleet = [];
    for (let i = 0; i < 1500; i++) fleet.push(vehicle(i, around(CITY_HALL, 30, r)));
    for (let i = 1500; i < 1800; i++) fleet.push(vehicle(i, around(BUSAN, 20, r)));
    fleet.push(vehicle(1800, CITY_HALL, { status: "inactive" }));
    fleet.push(vehicle(1801, CITY_HALL, { status: "deleted" }));
    for (const v of fleet) await coll.insert(v);
  });
  afterAll(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function bruteForce(q: SearchQuery, keep: (v: VehicleRecord) => boolean = () => true) {
    return fleet
      .filter((v) => v.status === "active" && keep(v))
      .map((v) => ({ id: v._id, d: haversineKm(q, v.location) }))
      .filter((h) => h.d <= q.radiusKm)
      .sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : 1))
      .map((h) => h.id);
  }

  async function all(q: SearchQuery, busy: (ids: string[], start: string, end: string) => Promise<BusyMap> = noBusy) {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await search().search({ ...q, cursor: cursor ? decodeCursor(cursor)! : undefined }, busy);
      ids.push(...res.hits.map((h) => h.vehicle._id));
      cursor = res.nextCursor;
      pages++;
    } while (cursor && pages < 200);
    return ids;
  }

  test("when paging through a 5 km search, then every vehicle within it comes once, nearest first", async () => {
    const q = parseSearchQuery({ lat: String(CITY_HALL.lat), lng: String(CITY_HALL.lng), radiusKm: "5", limit: "7" });
    const expected = bruteForce(q);
    expect(expected.length).toBeGreaterThan(30);
    expect(await all(q)).toEqual(expected);
  });

  test("when filters are given, then the result equals the brute-force scan with the same filters", async () => {
    const q = parseSearchQuery({ lat: "37.55", lng: "127.0", radiusKm: "12", make: "KIA", minSeats: "2", maxHourlyRate: "9000", fuelType: "gasoline", q: "sonata", limit: "100" });
    const expected = bruteForce(q, (v) => v.makeKey === "kia" && (v.seats ?? 0) >= 2 && v.hourlyRate <= 9000 && v.fuelType === "gasoline" && v.model === "Sonata");
    expect(expected.length).toBeGreaterThan(3);
    expect(await all(q)).toEqual(expected);
  });

  test("when searching in Busan, then no Seoul vehicle is returned, and inactive or deleted ones never are", async () => {
    const ids = await all(parseSearchQuery({ lat: String(BUSAN.lat), lng: String(BUSAN.lng), radiusKm: "50", limit: "100" }));
    expect(ids.length).toBe(300);
    expect(ids.every((id) => Number(id.slice(1)) >= 1500)).toBe(true);
    const near = await search().search(parseSearchQuery({ lat: String(CITY_HALL.lat), lng: String(CITY_HALL.lng), radiusKm: "0.001" }), noBusy);
    expect(near.hits.map((h) => h.vehicle._id)).toEqual([]);
  });

  test("when a window is given, then one busy lookup per page covers all its candidates, and held vehicles are left out", async () => {
    const calls: string[][] = [];
    const held = new Set(fleet.filter((_, i) => i % 3 === 0).map((v) => v._id));
    const busy = async (ids: string[], start: string, end: string): Promise<BusyMap> => {
      calls.push(ids);
      return Object.fromEntries(ids.map((id) => [id, held.has(id) ? [{ start, end }] : []]));
    };
    const q = parseSearchQuery({ lat: String(CITY_HALL.lat), lng: String(CITY_HALL.lng), radiusKm: "3", start: "2026-12-01T09:00:00+09:00", end: "2026-12-01T11:30:00+09:00", limit: "5" });
    const first = await search().search(q, busy);
    expect(calls).toHaveLength(1);
    expect(calls[0].length).toBeLessThanOrEqual(candidatesFor(5));
    expect(first.hits).toHaveLength(5);
    expect(first.hits.every((h) => !held.has(h.vehicle._id))).toBe(true);
    expect(first.hits[0].quote).toEqual({ total: 3 * first.hits[0].vehicle.hourlyRate, platformFee: Math.round(0.45 * first.hits[0].vehicle.hourlyRate), currency: "KRW", hours: 3 });

    calls.length = 0;
    const ids = await all(q, busy);
    expect(ids).toEqual(bruteForce(q, (v) => !held.has(v._id)));
    const pages = calls.length;
    expect(pages).toBeGreaterThan(1);
  });

  test("when most nearby vehicles are held, then a short page still carries a cursor and paging finds the free ones", async () => {
    const free = new Set(fleet.filter((_, i) => i % 50 === 7).map((v) => v._id));
    const busy = async (ids: string[], start: string, end: string): Promise<BusyMap> => Object.fromEntries(ids.map((id) => [id, free.has(id) ? [] : [{ start, end }]]));
    const q = parseSearchQuery({ lat: String(CITY_HALL.lat), lng: String(CITY_HALL.lng), radiusKm: "10", start: "2026-12-01T09:00:00+09:00", end: "2026-12-01T10:00:00+09:00", limit: "10" });
    const first = await search().search(q, busy);
    expect(first.hits.length).toBeLessThan(10);
    expect(first.nextCursor).not.toBeNull();
    expect(await all(q, busy)).toEqual(bruteForce(q, (v) => free.has(v._id)));
  });

  test("when a vehicle's rules close it for the window, then it is left out without asking bookings about it", async () => {
    const lonely: LatLng = { lat: 33.45, lng: 126.57 }; // Jeju: only these two
    await coll.insert(vehicle(9000, lonely, { availability: { weekly: [{ day: 1, start: "09:00", end: "18:00" }] } }));
    await coll.insert(vehicle(9001, { lat: 33.451, lng: 126.571 }));
    const asked: string[][] = [];
    const busy = async (ids: string[]) => {
      asked.push(ids);
      return noBusy(ids);
    };
    // 2026-12-01 is a Tuesday: the Monday-only vehicle is closed.
    const q = parseSearchQuery({ lat: String(lonely.lat), lng: String(lonely.lng), radiusKm: "2", start: "2026-12-01T10:00:00+09:00", end: "2026-12-01T12:00:00+09:00" });
    const res = await search().search(q, busy);
    expect(res.hits.map((h) => h.vehicle._id)).toEqual(["v009001"]);
    expect(asked).toEqual([["v009001"]]);
    const monday = parseSearchQuery({ lat: String(lonely.lat), lng: String(lonely.lng), radiusKm: "2", start: "2026-11-30T10:00:00+09:00", end: "2026-11-30T12:00:00+09:00" });
    expect((await search().search(monday, busy)).hits.map((h) => h.vehicle._id)).toEqual(["v009000", "v009001"]);
  });

  test("when the fleet is dense, then a page reads a bounded number of vehicles, not the whole radius", async () => {
    const q = parseSearchQuery({ lat: String(CITY_HALL.lat), lng: String(CITY_HALL.lng), radiusKm: "30", limit: "20" });
    const res = await search().search(q, noBusy);
    expect(res.hits).toHaveLength(20);
    const inRadius = bruteForce(q).length;
    expect(inRadius).toBeGreaterThan(1000);
    expect(res.stats.fetched).toBeLessThan(inRadius / 4);
    expect(res.nextCursor).not.toBeNull();
  });

  test("when the window is given, then there is no busy lookup for an empty page", async () => {
    const asked: string[][] = [];
    const q = parseSearchQuery({ lat: "0", lng: "0", radiusKm: "5", start: "2026-12-01T09:00:00+09:00", end: "2026-12-01T10:00:00+09:00" });
    const res = await search().search(q, async (ids) => {
      asked.push(ids);
      return {};
    });
    expect(res).toMatchObject({ hits: [], nextCursor: null });
    expect(asked).toEqual([]);
  });

  test("when the cursor points past some vehicles, then the next page starts right after it", async () => {
    const q = parseSearchQuery({ lat: String(CITY_HALL.lat), lng: String(CITY_HALL.lng), radiusKm: "5", limit: "3" });
    const first = await search().search(q, noBusy);
    const second = await search().search({ ...q, cursor: decodeCursor(first.nextCursor!)! }, noBusy);
    expect(second.hits[0].distanceKm).toBeGreaterThanOrEqual(first.hits[2].distanceKm);
    expect(bruteForce(q).slice(0, 6)).toEqual([...first.hits, ...second.hits].map((h) => h.vehicle._id));
  });

  test("when quoting 61 minutes at 10,000 per hour, then 2 started hours are charged with a 15 % fee", async () => {
    const at: LatLng = { lat: -33.86, lng: 151.2 };
    await coll.insert(vehicle(9100, at, { hourlyRate: 10_000 }));
    const q = parseSearchQuery({ lat: String(at.lat), lng: String(at.lng), radiusKm: "1", start: "2026-12-01T09:00:00+09:00", end: "2026-12-01T10:01:00+09:00" });
    const res = await search().search(q, noBusy);
    expect(res.hits[0].quote).toEqual({ total: 20_000, platformFee: 3_000, currency: "KRW", hours: 2 });
    expect(Date.parse(q.window!.end) - Date.parse(q.window!.start)).toBe(HOUR + 60_000);
  });
});
