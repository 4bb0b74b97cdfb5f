/** A time typed without an offset (an HTML datetime-local field) read in a time zone, and back. */

function parts(t: number, zone: string) {
  const f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const p = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  return { y: Number(p.year), mo: Number(p.month), d: Number(p.day), h: Number(p.hour), mi: Number(p.minute), s: Number(p.second) };
}

/** Milliseconds the zone is ahead of UTC at instant `t`. */
function offsetMs(t: number, zone: string): number {
  const p = parts(t, zone);
  return Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) - Math.floor(t / 1000) * 1000;
}

/** "2026-12-01T09:30" in `zone` -> "2026-12-01T00:30:00.000Z"; null when it is not such a time. */
export function zonedLocalToUtc(local: string, zone: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0));
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(wall);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  let t = wall - offsetMs(wall, zone);
  t = wall - offsetMs(t, zone); // again, in case the offset changes in between (DST)
  return new Date(t).toISOString();
}

/** An instant as a datetime-local value ("2026-12-01T09:30") in `zone`. */
export function utcToZonedLocal(t: Date, zone: string): string {
  const p = parts(t.getTime(), zone);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${p.y}-${two(p.mo)}-${two(p.d)}T${two(p.h)}:${two(p.mi)}`;
}
