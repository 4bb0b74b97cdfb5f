/**
 * Half-open interval algebra on epoch milliseconds: [start, end).
 * Used to combine opening hours, blocks and bookings. Every function returns
 * a normalised list (sorted, non-empty, non-overlapping, non-touching) and
 * never mutates its inputs.
 */

export interface Interval {
  start: number;
  end: number;
}

export function isEmpty(i: Interval): boolean {
  return !(i.end > i.start);
}

/** Sorts, drops empty intervals and merges overlapping or touching ones. */
export function normalise(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((i) => !isEmpty(i)).sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: Interval[] = [];
  for (const { start, end } of sorted) {
    const last = merged[merged.length - 1];
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else merged.push({ start, end });
  }
  return merged;
}

export function union(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  return normalise([...a, ...b]);
}

/** The parts of `a` not covered by any interval of `remove`. */
export function subtract(a: Interval | readonly Interval[], remove: readonly Interval[]): Interval[] {
  const cuts = normalise(remove);
  const result: Interval[] = [];
  for (const piece of normalise(Array.isArray(a) ? a : [a as Interval])) {
    let cursor = piece.start;
    for (const cut of cuts) {
      if (cut.end <= cursor) continue;
      if (cut.start >= piece.end) break;
      if (cut.start > cursor) result.push({ start: cursor, end: cut.start });
      cursor = Math.max(cursor, cut.end);
    }
    if (cursor < piece.end) result.push({ start: cursor, end: piece.end });
  }
  return result;
}

/** The parts covered by both `a` and `b`. */
export function intersect(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const left = normalise(a);
  const right = normalise(b);
  const result: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) {
    const start = Math.max(left[i].start, right[j].start);
    const end = Math.min(left[i].end, right[j].end);
    if (start < end) result.push({ start, end });
    if (left[i].end < right[j].end) i++;
    else j++;
  }
  return result;
}

/** True when the whole (non-empty) window lies inside one merged interval. */
export function covers(intervals: readonly Interval[], window: Interval): boolean {
  if (isEmpty(window)) return false;
  return normalise(intervals).some((i) => i.start <= window.start && window.end <= i.end);
}

/** True when two non-empty intervals share at least one instant. */
export function overlaps(a: Interval, b: Interval): boolean {
  return !isEmpty(a) && !isEmpty(b) && a.start < b.end && b.start < a.end;
}

/** Sum of the lengths of the merged intervals, in ms. */
export function totalLength(intervals: readonly Interval[]): number {
  return normalise(intervals).reduce((sum, i) => sum + (i.end - i.start), 0);
}
