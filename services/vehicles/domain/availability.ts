/**
 * A vehicle's availability rules (API.md "Vehicles and drivers") turned into
 * UTC intervals, and their validation.
 *
 * Semantics:
 * - Rules are read in the vehicle's IANA `timezone` (default Asia/Seoul).
 * - `weekly` windows repeat on a weekday (0 = Sunday). `end` "24:00" is the end
 *   of the day; `end <= start` crosses midnight (22:00-02:00 runs into the next
 *   day; 09:00-09:00 is 24 hours). No weekly windows = open all day, every day.
 * - An exception for a date replaces the windows that *start* on that date:
 *   `closed` -> none, `{start, end}` -> only that window. A window that began
 *   the evening before and crosses midnight belongs to the previous date and
 *   is kept (an owner who wants those hours gone adds a block).
 * - `blocks` (absolute instants) and busy bookings are subtracted.
 */
import { covers, intersect, Interval, normalise, subtract } from "./intervals";
import { addDays, isValidTimeZone, localDateOf, parseDate, parseTime, weekdayOf, zonedTimeToUtc } from "./zoned-time";

export { zonedTimeToUtc } from "./zoned-time";

export const DEFAULT_TIMEZONE = "Asia/Seoul";
export const MAX_ENTRIES = 200;
/** Longest range openIntervals will expand, to bound the work per request. */
export const MAX_RANGE_DAYS = 400;

export interface WeeklyWindow {
  day: number;
  start: string;
  end: string;
}
export type DateException =
  | { date: string; closed: true }
  | { date: string; closed?: false; start: string; end: string };
export interface Block {
  start: string;
  end: string;
  reason?: string;
}
export interface AvailabilityRules {
  weekly?: WeeklyWindow[];
  exceptions?: DateException[];
  blocks?: Block[];
  /** IANA zone of the vehicle; default Asia/Seoul. */
  timezone?: string;
}
export interface Problem {
  field: string;
  message: string;
}
/** An instant: epoch ms, a Date, or an ISO 8601 string with an offset. */
export type Instant = number | string | Date;

const DAY_MS = 86_400_000;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
const FULL_DAY: Pick<WeeklyWindow, "start" | "end"> = { start: "00:00", end: "24:00" };

/** Epoch ms of an ISO string with offset, or NaN. */
export function parseInstant(value: string): number {
  return ISO_WITH_OFFSET.test(value) ? Date.parse(value) : NaN;
}

export function toEpochMs(value: Instant): number {
  const ms = typeof value === "number" ? value : value instanceof Date ? value.getTime() : parseInstant(value);
  if (!Number.isFinite(ms)) throw new RangeError(`invalid instant ${String(value)}`);
  return ms;
}

/** The UTC interval of a local window that starts on `date`. */
function windowOnDate(date: string, window: { start: string; end: string }, timeZone: string): Interval {
  const startMin = parseTime(window.start);
  const endMin = parseTime(window.end);
  if (startMin === null || endMin === null || startMin === 1440) throw new RangeError(`invalid window ${window.start}-${window.end}`);
  const endDate = endMin <= startMin ? addDays(date, 1) : date;
  return { start: zonedTimeToUtc(date, window.start, timeZone), end: zonedTimeToUtc(endDate, window.end, timeZone) };
}

/** The windows that start on a local date, after exceptions. */
function windowsStartingOn(date: string, rules: AvailabilityRules): Array<{ start: string; end: string }> {
  const exception = rules.exceptions?.find((e) => e.date === date);
  if (exception) return exception.closed ? [] : [exception];
  const weekly = rules.weekly ?? [];
  if (weekly.length === 0) return [FULL_DAY];
  const day = weekdayOf(date);
  return weekly.filter((w) => w.day === day);
}

function checkRange(from: number, to: number): void {
  if (to - from > MAX_RANGE_DAYS * DAY_MS) throw new RangeError(`range longer than ${MAX_RANGE_DAYS} days`);
}

/** Merged UTC intervals inside [from, to) where the rules say the vehicle is open, minus blocks. */
export function openIntervals(rules: AvailabilityRules, from: Instant, to: Instant): Interval[] {
  const [fromMs, toMs] = [toEpochMs(from), toEpochMs(to)];
  if (!(toMs > fromMs)) return [];
  checkRange(fromMs, toMs);
  const timeZone = rules.timezone ?? DEFAULT_TIMEZONE;
  const windows: Interval[] = [];
  const last = localDateOf(toMs, timeZone);
  // Start a day early: the previous evening's window may cross midnight into the range.
  for (let date = addDays(localDateOf(fromMs, timeZone), -1); date <= last; date = addDays(date, 1)) {
    for (const w of windowsStartingOn(date, rules)) windows.push(windowOnDate(date, w, timeZone));
  }
  const blocks = (rules.blocks ?? []).map((b) => ({ start: toEpochMs(b.start), end: toEpochMs(b.end) }));
  return subtract(intersect(normalise(windows), [{ start: fromMs, end: toMs }]), blocks);
}

/** Open intervals inside [from, to) minus busy time (bookings that hold the vehicle). */
export function freeIntervals(rules: AvailabilityRules, from: Instant, to: Instant, busy: readonly Interval[]): Interval[] {
  return subtract(openIntervals(rules, from, to), busy);
}

/** True when [start, end) lies wholly inside one free interval. */
export function isBookable(rules: AvailabilityRules, start: Instant, end: Instant, busy: readonly Interval[]): boolean {
  const window = { start: toEpochMs(start), end: toEpochMs(end) };
  if (!(window.end > window.start)) return false;
  return covers(freeIntervals(rules, window.start, window.end, busy), window);
}

// ---- validation -------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function checkTime(value: unknown, field: string, allowEndOfDay: boolean, problems: Problem[]): void {
  const minutes = typeof value === "string" ? parseTime(value) : null;
  if (minutes === null || (minutes === 1440 && !allowEndOfDay)) {
    const range = allowEndOfDay ? "00:00 and 24:00" : "00:00 and 23:59";
    problems.push({ field, message: `must be a time HH:MM between ${range}` });
  }
}

function checkList(rules: Record<string, unknown>, key: string, problems: Problem[]): unknown[] {
  const list = rules[key];
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    problems.push({ field: key, message: "must be an array" });
    return [];
  }
  if (list.length > MAX_ENTRIES) problems.push({ field: key, message: `must have at most ${MAX_ENTRIES} entries` });
  return list.slice(0, MAX_ENTRIES);
}

function checkWeekly(entry: unknown, field: string, problems: Problem[]): void {
  if (!isObject(entry)) return void problems.push({ field, message: "must be an object" });
  if (!Number.isInteger(entry.day) || (entry.day as number) < 0 || (entry.day as number) > 6) {
    problems.push({ field: `${field}.day`, message: "must be an integer 0-6 (0 = Sunday)" });
  }
  checkTime(entry.start, `${field}.start`, false, problems);
  checkTime(entry.end, `${field}.end`, true, problems);
}

function checkException(entry: unknown, field: string, seen: Set<string>, problems: Problem[]): void {
  if (!isObject(entry)) return void problems.push({ field, message: "must be an object" });
  if (typeof entry.date !== "string" || !parseDate(entry.date)) {
    problems.push({ field: `${field}.date`, message: "must be a real date YYYY-MM-DD" });
  } else if (seen.has(entry.date)) {
    problems.push({ field: `${field}.date`, message: "another exception already covers this date" });
  } else seen.add(entry.date);
  if (entry.closed === true) {
    if (entry.start !== undefined || entry.end !== undefined) problems.push({ field, message: "a closed day has no start or end" });
    return;
  }
  if (entry.closed !== undefined && entry.closed !== false) problems.push({ field: `${field}.closed`, message: "must be a boolean" });
  checkTime(entry.start, `${field}.start`, false, problems);
  checkTime(entry.end, `${field}.end`, true, problems);
}

function checkBlock(entry: unknown, field: string, problems: Problem[]): void {
  if (!isObject(entry)) return void problems.push({ field, message: "must be an object" });
  const start = typeof entry.start === "string" ? parseInstant(entry.start) : NaN;
  const end = typeof entry.end === "string" ? parseInstant(entry.end) : NaN;
  const iso = "must be an ISO 8601 date-time with an offset";
  if (Number.isNaN(start)) problems.push({ field: `${field}.start`, message: iso });
  if (Number.isNaN(end)) problems.push({ field: `${field}.end`, message: iso });
  else if (!Number.isNaN(start) && end <= start) problems.push({ field: `${field}.end`, message: "must be after start" });
  if (entry.reason !== undefined && (typeof entry.reason !== "string" || entry.reason.length > 500)) {
    problems.push({ field: `${field}.reason`, message: "must be a string of at most 500 characters" });
  }
}

/** Every problem in a rules document, as `{field, message}` for a 400 VALIDATION_ERROR. Empty = valid. */
export function validateRules(rules: unknown): Problem[] {
  if (!isObject(rules)) return [{ field: "", message: "must be an object" }];
  const problems: Problem[] = [];
  if (rules.timezone !== undefined && (typeof rules.timezone !== "string" || !isValidTimeZone(rules.timezone))) {
    problems.push({ field: "timezone", message: "must be an IANA time zone such as Asia/Seoul" });
  }
  checkList(rules, "weekly", problems).forEach((e, i) => checkWeekly(e, `weekly[${i}]`, problems));
  const seen = new Set<string>();
  checkList(rules, "exceptions", problems).forEach((e, i) => checkException(e, `exceptions[${i}]`, seen, problems));
  checkList(rules, "blocks", problems).forEach((e, i) => checkBlock(e, `blocks[${i}]`, problems));
  return problems;
}
