/**
 * Wall-clock time in an IANA time zone <-> UTC instants, with nothing but Intl.
 * Local times in a DST gap or overlap are resolved like Temporal's
 * "compatible" disambiguation: a time skipped by a spring-forward jump is
 * moved later by the gap (02:30 -> 03:30), and a time repeated by a
 * fall-back is taken at its earlier occurrence.
 */

const DAY_MS = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when Intl knows the zone (e.g. "Asia/Seoul", "UTC"). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Local wall-clock fields of an instant, as a UTC timestamp of the same fields. */
function wallClockMs(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
}

/** Offset of the zone from UTC at an instant, in ms (Seoul: +9 h). */
export function offsetMs(instant: number, timeZone: string): number {
  const wholeSeconds = Math.floor(instant / 1000) * 1000;
  return wallClockMs(wholeSeconds, timeZone) - wholeSeconds;
}

/** Parses "YYYY-MM-DD" into a calendar date, or null when it is not a real date. */
export function parseDate(date: string): { year: number; month: number; day: number } | null {
  const m = DATE_RE.exec(date);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(year, month - 1, day));
  const real = probe.getUTCFullYear() === year && probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day;
  return real ? { year, month, day } : null;
}

/** Minutes since midnight for "HH:MM" (00:00..23:59, or "24:00" = 1440); null when malformed. */
export function parseTime(time: string): number | null {
  if (time === "24:00") return 1440;
  const m = TIME_RE.exec(time);
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** "YYYY-MM-DD" plus n calendar days. */
export function addDays(date: string, n: number): string {
  const d = parseDate(date);
  if (!d) throw new RangeError(`invalid date "${date}"`);
  return new Date(Date.UTC(d.year, d.month - 1, d.day) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Day of the week of a calendar date, 0 = Sunday. */
export function weekdayOf(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

/** The local calendar date ("YYYY-MM-DD") of an instant in a zone. */
export function localDateOf(instant: number, timeZone: string): string {
  return new Date(wallClockMs(instant, timeZone)).toISOString().slice(0, 10);
}

/**
 * The UTC instant (epoch ms) at which the wall clock in `timeZone` shows
 * `date` `time`. "24:00" means midnight at the end of the date.
 */
export function zonedTimeToUtc(date: string, time: string, timeZone: string): number {
  const d = parseDate(date);
  const minutes = parseTime(time);
  if (!d || minutes === null) throw new RangeError(`invalid local time "${date} ${time}"`);
  const wall = Date.UTC(d.year, d.month - 1, d.day) + minutes * 60_000;
  // The offsets in force a day either side bracket any single DST change.
  const before = offsetMs(wall - DAY_MS, timeZone);
  const after = offsetMs(wall + DAY_MS, timeZone);
  const matches = [wall - before, wall - after].filter((t) => wallClockMs(t, timeZone) === wall);
  if (matches.length > 0) return Math.min(...matches);
  return wall - before; // in a gap: shift later by the gap's length
}
