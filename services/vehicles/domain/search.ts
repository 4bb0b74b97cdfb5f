/**
 * Nearby search: vehicles within `radiusKm` of a point, nearest first, free
 * for the whole window when one is given, with a price quote.
 *
 * How it stays cheap as the fleet grows (no `$near`, so it runs the same on
 * NeDB, MongoDB and FerretDB):
 * 1. Rings. It asks the store for `{cells: {$in: cellsCovering(centre, r)}}`
 *    with a small r first (500 m), then widens r (growing with how few it
 *    found, up to the asked radius) until it has enough matches for a page
 *    or has covered the whole radius. A dense city is answered from a few
 *    fine cells; a sparse region widens a few times. Work per request follows
 *    the page size, not the fleet size.
 * 2. Exact filters in code: haversine distance, the text filter `q`, and the
 *    availability rules for the window (in the vehicle's time zone).
 * 3. Holding bookings: ONE batched `bookings.busy` call for the candidates of
 *    this page (at most `candidatesFor(limit)` of them), never one per vehicle.
 * Paging: `nextCursor` is the (distance, id) of the last vehicle examined, so
 * the next page starts right after it. When many nearby vehicles are booked a
 * page can hold fewer than `limit` items while `nextCursor` is still set:
 * follow it until it is null.
 */
import type { BusyMap } from "../../../lib/contracts";
import { validationError, type FieldError } from "../../../lib/errors";
import { quote, type Quote } from "../../../lib/pricing";
import type { Collection, Filter } from "../../../lib/store";
import { isBookable, MAX_RANGE_DAYS, parseInstant } from "./availability";
import { cellsCovering, haversineKm } from "./geo";
import { FUEL_TYPES, SEARCH_PRECISION, TRANSMISSIONS, type FuelType, type Transmission, type VehicleRecord } from "./model";

export const DEFAULT_RADIUS_KM = 5;
export const MAX_RADIUS_KM = 50;
export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;
/** First ring of the search. */
export const FIRST_RING_KM = 0.5;
const DAY_MS = 86_400_000;

export interface SearchQuery {
  lat: number;
  lng: number;
  radiusKm: number;
  window?: { start: string; end: string; startMs: number; endMs: number };
  make?: string;
  minSeats?: number;
  maxHourlyRate?: number;
  fuelType?: FuelType;
  transmission?: Transmission;
  q?: string;
  limit: number;
  cursor?: Cursor;
}

export interface Cursor { d: number; id: string }

export interface SearchHit {
  vehicle: VehicleRecord;
  /** Exact; round it for display. */
  distanceKm: number;
  quote?: Pick<Quote, "total" | "platformFee" | "currency" | "hours">;
}

export interface SearchResult { hits: SearchHit[]; nextCursor: string | null; stats: { rings: number; fetched: number; candidates: number } }

/** Busy time per vehicle from bookings, in one call. */
export type BusyLookup = (vehicleIds: string[], start: string, end: string) => Promise<BusyMap>;

// ---- query parsing ----------------------------------------------------------

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function text(raw: Record<string, unknown>, key: string, problems: FieldError[], max = 100): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") {
    problems.push({ field: key, message: "must be given once, as text" });
    return undefined;
  }
  const t = v.trim();
  if (t.length > max) problems.push({ field: key, message: `must be at most ${max} characters` });
  return t || undefined;
}

function num(raw: Record<string, unknown>, key: string, problems: FieldError[], range: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean }): number | undefined {
  const v = raw[key];
  if (v === undefined || v === "") return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" && NUMBER.test(v.trim()) ? Number(v) : NaN;
  const bounds =
    range.min !== undefined && range.max !== undefined ? ` between ${range.min} and ${range.max}` : range.min !== undefined ? ` of at least ${range.min}` : "";
  const what = range.integer ? "a whole number" : "a number";
  if (!Number.isFinite(n) || (range.integer && !Number.isInteger(n))) {
    problems.push({ field: key, message: `must be ${what}${bounds}` });
    return undefined;
  }
  const below = range.min !== undefined && (range.exclusiveMin ? n <= range.min : n < range.min);
  if (below || (range.max !== undefined && n > range.max)) {
    problems.push({ field: key, message: range.exclusiveMin ? `must be more than ${range.min} and at most ${range.max}` : `must be ${what}${bounds}` });
    return undefined;
  }
  return n;
}

function instant(raw: Record<string, unknown>, key: string, problems: FieldError[]): number | undefined {
  const v = text(raw, key, problems, 40);
  if (v === undefined) return undefined;
  const ms = parseInstant(v);
  if (Number.isNaN(ms)) {
    problems.push({ field: key, message: "must be an ISO 8601 date-time with an offset, such as 2026-12-01T09:00:00+09:00" });
    return undefined;
  }
  return ms;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.d, c.id])).toString("base64url");
}

export function decodeCursor(value: string): Cursor | null {
  try {
    const [d, id] = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
    return typeof d === "number" && Number.isFinite(d) && d >= 0 && typeof id === "string" && id.length <= 64 ? { d, id } : null;
  } catch {
    return null;
  }
}

/** The query string of `GET /v1/vehicles`, checked; every problem is reported at once (400 VALIDATION_ERROR). */
export function parseSearchQuery(raw: Record<string, unknown>): SearchQuery {
  const problems: FieldError[] = [];
  const lat = num(raw, "lat", problems, { min: -90, max: 90 });
  const lng = num(raw, "lng", problems, { min: -180, max: 180 });
  if (raw.lat === undefined || raw.lat === "") problems.push({ field: "lat", message: "is required (with lng): the search is around a point" });
  if (raw.lng === undefined || raw.lng === "") problems.push({ field: "lng", message: "is required (with lat): the search is around a point" });
  const radiusKm = num(raw, "radiusKm", problems, { min: 0, max: MAX_RADIUS_KM, exclusiveMin: true }) ?? DEFAULT_RADIUS_KM;
  const start = instant(raw, "start", problems);
  const end = instant(raw, "end", problems);
  const hasStart = raw.start !== undefined && raw.start !== "";
  const hasEnd = raw.end !== undefined && raw.end !== "";
  if (hasStart !== hasEnd) problems.push({ field: hasStart ? "end" : "start", message: "is required when a window is searched: give both start and end" });
  if (start !== undefined && end !== undefined) {
    if (end <= start) problems.push({ field: "end", message: "must be after start" });
    else if (end - start > MAX_RANGE_DAYS * DAY_MS) problems.push({ field: "end", message: `must be at most ${MAX_RANGE_DAYS} days after start` });
  }
  const fuelType = text(raw, "fuelType", problems);
  if (fuelType !== undefined && !(FUEL_TYPES as readonly string[]).includes(fuelType)) problems.push({ field: "fuelType", message: `must be one of ${FUEL_TYPES.join(", ")}` });
  const transmission = text(raw, "transmission", problems);
  if (transmission !== undefined && !(TRANSMISSIONS as readonly string[]).includes(transmission)) {
    problems.push({ field: "transmission", message: `must be one of ${TRANSMISSIONS.join(", ")}` });
  }
  const cursorText = text(raw, "cursor", problems, 200);
  const cursor = cursorText === undefined ? undefined : decodeCursor(cursorText);
  if (cursor === null) problems.push({ field: "cursor", message: "is not a cursor this search returned" });
  const query: SearchQuery = {
    lat: lat ?? 0,
    lng: lng ?? 0,
    radiusKm,
    make: text(raw, "make", problems, 50),
    minSeats: num(raw, "minSeats", problems, { min: 1, max: 15, integer: true }),
    maxHourlyRate: num(raw, "maxHourlyRate", problems, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }),
    fuelType: fuelType as FuelType | undefined,
    transmission: transmission as Transmission | undefined,
    q: text(raw, "q", problems, 100),
    limit: num(raw, "limit", problems, { min: 1, max: MAX_LIMIT, integer: true }) ?? DEFAULT_LIMIT,
    cursor: cursor ?? undefined,
  };
  if (problems.length) throw validationError(problems);
  if (start !== undefined && end !== undefined) {
    query.window = { start: new Date(start).toISOString(), end: new Date(end).toISOString(), startMs: start, endMs: end };
  }
  return query;
}

// ---- the search ---------------------------------------------------------------

/** How many candidates one page examines (and asks bookings about): room for some to be booked. */
export function candidatesFor(limit: number): number {
  return Math.min(500, 2 * (limit + 1) + 20);
}

const after = (d: number, id: string, c?: Cursor) => !c || d > c.d || (d === c.d && id > c.id);
const byDistance = (a: { d: number; v: VehicleRecord }, b: { d: number; v: VehicleRecord }) => a.d - b.d || (a.v._id < b.v._id ? -1 : a.v._id > b.v._id ? 1 : 0);

function storeFilter(q: SearchQuery, cells: string[]): Filter {
  // `cells` is the only indexed field here: NeDB then picks it for the lookup.
  const filter: Filter = { cells: { $in: cells }, status: "active" };
  if (q.make) filter.makeKey = q.make.toLowerCase();
  if (q.minSeats !== undefined) filter.seats = { $gte: q.minSeats };
  if (q.maxHourlyRate !== undefined) filter.hourlyRate = { $lte: q.maxHourlyRate };
  if (q.fuelType) filter.fuelType = q.fuelType;
  if (q.transmission) filter.transmission = q.transmission;
  return filter;
}

function matchesText(v: VehicleRecord, q: string): boolean {
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  const hay = [v.make, v.model, v.color, v.description, v.location.address, String(v.year)].filter(Boolean).join(" ").toLowerCase();
  return words.every((w) => hay.includes(w));
}

export class VehicleSearch {
  constructor(private readonly vehicles: Collection<VehicleRecord>, private readonly feeBps: number) {}

  async search(q: SearchQuery, busyLookup: BusyLookup): Promise<SearchResult> {
    const want = candidatesFor(q.limit);
    const centre = { lat: q.lat, lng: q.lng };
    const open = new Map<string, boolean>(); // availability-rule verdicts, computed once per vehicle
    const opensForWindow = (v: VehicleRecord): boolean => {
      if (!q.window) return true;
      let ok = open.get(v._id);
      if (ok === undefined) {
        const rules = v.availability;
        ok = !rules || (!rules.weekly?.length && !rules.exceptions?.length && !rules.blocks?.length)
          ? true
          : isBookable({ ...rules, timezone: v.timezone }, q.window.startMs, q.window.endMs, []);
        open.set(v._id, ok);
      }
      return ok;
    };

    let radius = Math.min(q.radiusKm, FIRST_RING_KM + (q.cursor?.d ?? 0));
    let examined: { d: number; v: VehicleRecord }[] = [];
    let moreBeyond = false;
    let rings = 0;
    let fetched = 0;
    for (;;) {
      rings++;
      const docs = await this.vehicles.find(storeFilter(q, cellsCovering(q.lat, q.lng, radius, SEARCH_PRECISION)));
      fetched += docs.length;
      const near: { d: number; v: VehicleRecord }[] = [];
      for (const v of docs) {
        const d = haversineKm(centre, v.location);
        if (d > radius || !after(d, v._id, q.cursor)) continue;
        if (q.q && !matchesText(v, q.q)) continue;
        near.push({ d, v });
      }
      near.sort(byDistance);
      // The rules (the costly check) only for the nearest, until there are enough.
      examined = [];
      let i = 0;
      for (; i < near.length && examined.length < want; i++) if (opensForWindow(near[i].v)) examined.push(near[i]);
      moreBeyond = radius < q.radiusKm || i < near.length;
      if (examined.length >= want || radius >= q.radiusKm) break;
      // Widen so the disc is expected to hold enough matches (at least 1.5x, at most 4x).
      const factor = examined.length ? Math.sqrt(want / examined.length) * 1.2 : 4;
      radius = Math.min(q.radiusKm, radius * Math.min(4, Math.max(1.5, factor)));
    }

    let free = examined;
    if (q.window && examined.length) {
      const busy = await busyLookup(examined.map((m) => m.v._id), q.window.start, q.window.end);
      const { startMs, endMs } = q.window;
      free = examined.filter(({ v }) => !(busy[v._id] ?? []).some((b) => Date.parse(b.start) < endMs && Date.parse(b.end) > startMs));
    }

    const page = free.slice(0, q.limit);
    let nextCursor: string | null = null;
    if (free.length > q.limit) nextCursor = encodeCursor({ d: page[page.length - 1].d, id: page[page.length - 1].v._id });
    else if (moreBeyond && examined.length) nextCursor = encodeCursor({ d: examined[examined.length - 1].d, id: examined[examined.length - 1].v._id });

    const hits: SearchHit[] = page.map(({ d, v }) => {
      const hit: SearchHit = { vehicle: v, distanceKm: d };
      if (q.window) {
        const { total, platformFee, currency, hours } = quote({ start: q.window.start, end: q.window.end, hourlyRate: v.hourlyRate, currency: v.currency, feeBps: this.feeBps });
        hit.quote = { total, platformFee, currency, hours };
      }
      return hit;
    });
    return { hits, nextCursor, stats: { rings, fetched, candidates: examined.length } };
  }
}
