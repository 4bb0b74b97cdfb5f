/** The booking window a renter asks for: well-formed, in the future, at least an hour, at most BOOKING_MAX_DAYS. */
import { validationError, type FieldError } from "../../../lib/errors";
import { HOUR_MS } from "../../../lib/pricing";
import { parseInstant } from "../../vehicles/domain/availability";

const DAY_MS = 24 * HOUR_MS;

export interface BookingWindow { start: string; end: string; startMs: number; endMs: number }

/** Parses and checks the window; throws 400 VALIDATION_ERROR listing every problem. Times come back in UTC. */
export function checkWindow(start: string, end: string, options: { now: number; maxDays: number }): BookingWindow {
  const problems: FieldError[] = [];
  const startMs = parseInstant(start);
  const endMs = parseInstant(end);
  const iso = "must be an ISO 8601 date-time with an offset, such as 2026-12-01T09:00:00+09:00";
  if (Number.isNaN(startMs)) problems.push({ field: "start", message: iso });
  if (Number.isNaN(endMs)) problems.push({ field: "end", message: iso });
  if (!problems.length) {
    if (startMs <= options.now) problems.push({ field: "start", message: "must be in the future" });
    if (endMs <= startMs) problems.push({ field: "end", message: "must be after start" });
    else if (endMs - startMs < HOUR_MS) problems.push({ field: "end", message: "a booking lasts at least one hour" });
    else if (endMs - startMs > options.maxDays * DAY_MS) problems.push({ field: "end", message: `a booking lasts at most ${options.maxDays} days` });
  }
  if (problems.length) throw validationError(problems);
  return { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(), startMs, endMs };
}

/** Half-open windows [a.start, a.end) and [b.start, b.end) share an instant. ISO UTC strings compare as times. */
export function overlaps(a: { start: string; end: string }, b: { start: string; end: string }): boolean {
  return a.start < b.end && b.start < a.end;
}
