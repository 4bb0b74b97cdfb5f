import { AvailabilityRules, freeIntervals, isBookable, MAX_ENTRIES, openIntervals, validateRules, zonedTimeToUtc } from "./availability";
import { Interval } from "./intervals";

const at = (iso: string): number => Date.parse(iso);
const span = (start: string, end: string): Interval => ({ start: at(start), end: at(end) });
const asIso = (list: Interval[]): Array<[string, string]> =>
  list.map((i) => [new Date(i.start).toISOString(), new Date(i.end).toISOString()]);
const HOUR = 3_600_000;

// 2026-12-04 is a Friday, 2026-12-05 a Saturday, 2026-12-07 a Monday (Asia/Seoul is UTC+9, no DST).
const FRI = 5;
const MON = 1;
const TUE = 2;

describe("zonedTimeToUtc", () => {
  it("when a Seoul wall time is converted, then 9 hours are subtracted", () => {
    expect(zonedTimeToUtc("2026-12-01", "09:00", "Asia/Seoul")).toBe(at("2026-12-01T00:00:00Z"));
  });

  it("when the time is 24:00, then it is midnight at the end of the date", () => {
    expect(zonedTimeToUtc("2026-12-31", "24:00", "Asia/Seoul")).toBe(at("2026-12-31T15:00:00Z"));
  });

  it("when New York is in summer or winter time, then the matching offset is used", () => {
    expect(zonedTimeToUtc("2026-07-01", "09:00", "America/New_York")).toBe(at("2026-07-01T13:00:00Z"));
    expect(zonedTimeToUtc("2026-01-15", "09:00", "America/New_York")).toBe(at("2026-01-15T14:00:00Z"));
  });

  it("when the time is skipped by spring-forward, then it moves later by the gap", () => {
    // 2026-03-08 02:00 EST jumps to 03:00 EDT; 02:30 does not exist -> 03:30 EDT
    expect(zonedTimeToUtc("2026-03-08", "02:30", "America/New_York")).toBe(at("2026-03-08T07:30:00Z"));
  });

  it("when the time is repeated by fall-back, then the earlier occurrence is used", () => {
    // 2026-11-01 01:30 happens at EDT (05:30Z) and again at EST (06:30Z)
    expect(zonedTimeToUtc("2026-11-01", "01:30", "America/New_York")).toBe(at("2026-11-01T05:30:00Z"));
  });

  it("when the zone has a half-hour DST shift, then it is still exact", () => {
    // Lord Howe Island: +10:30 in winter, +11 in summer; 2026-10-04 02:00 -> 02:30
    expect(zonedTimeToUtc("2026-10-04", "02:15", "Australia/Lord_Howe")).toBe(at("2026-10-03T15:45:00Z"));
    expect(zonedTimeToUtc("2026-07-01", "12:00", "Australia/Lord_Howe")).toBe(at("2026-07-01T01:30:00Z"));
  });

  it("when the date or time is malformed, then a RangeError is thrown", () => {
    expect(() => zonedTimeToUtc("2026-02-30", "09:00", "Asia/Seoul")).toThrow(RangeError);
    expect(() => zonedTimeToUtc("2026-02-01", "9:00", "Asia/Seoul")).toThrow(RangeError);
  });
});

describe("openIntervals", () => {
  it("when there are no rules, then the whole range is open", () => {
    expect(openIntervals({}, "2026-12-01T00:00:00Z", "2026-12-09T00:00:00Z")).toEqual([span("2026-12-01T00:00:00Z", "2026-12-09T00:00:00Z")]);
    expect(openIntervals({ weekly: [] }, "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")).toHaveLength(1);
  });

  it("when a weekly window is set in Seoul, then it opens on that weekday only, in UTC", () => {
    const rules: AvailabilityRules = { weekly: [{ day: MON, start: "09:00", end: "18:00" }] };
    expect(asIso(openIntervals(rules, "2026-12-01T00:00:00+09:00", "2026-12-15T00:00:00+09:00"))).toEqual([
      ["2026-12-07T00:00:00.000Z", "2026-12-07T09:00:00.000Z"],
      ["2026-12-14T00:00:00.000Z", "2026-12-14T09:00:00.000Z"],
    ]);
  });

  it("when the range cuts a window, then the result is clipped to the range", () => {
    const rules: AvailabilityRules = { weekly: [{ day: MON, start: "09:00", end: "18:00" }] };
    expect(openIntervals(rules, "2026-12-07T12:00:00+09:00", "2026-12-07T13:00:00+09:00")).toEqual([
      span("2026-12-07T12:00:00+09:00", "2026-12-07T13:00:00+09:00"),
    ]);
  });

  it("when a window ends at 24:00 and the next day starts at 00:00, then they merge into one interval", () => {
    const rules: AvailabilityRules = { weekly: [{ day: MON, start: "20:00", end: "24:00" }, { day: TUE, start: "00:00", end: "06:00" }] };
    expect(openIntervals(rules, "2026-12-07T00:00:00+09:00", "2026-12-09T00:00:00+09:00")).toEqual([
      span("2026-12-07T20:00:00+09:00", "2026-12-08T06:00:00+09:00"),
    ]);
  });

  it("when a window crosses midnight, then it runs into the next day", () => {
    const rules: AvailabilityRules = { weekly: [{ day: FRI, start: "22:00", end: "02:00" }] };
    expect(openIntervals(rules, "2026-12-04T00:00:00+09:00", "2026-12-06T00:00:00+09:00")).toEqual([
      span("2026-12-04T22:00:00+09:00", "2026-12-05T02:00:00+09:00"),
    ]);
  });

  it("when the range starts after midnight, then the previous evening's window still counts", () => {
    const rules: AvailabilityRules = { weekly: [{ day: FRI, start: "22:00", end: "02:00" }] };
    expect(openIntervals(rules, "2026-12-05T00:00:00+09:00", "2026-12-05T12:00:00+09:00")).toEqual([
      span("2026-12-05T00:00:00+09:00", "2026-12-05T02:00:00+09:00"),
    ]);
  });

  it("when start equals end, then the window lasts 24 hours", () => {
    const rules: AvailabilityRules = { weekly: [{ day: FRI, start: "09:00", end: "09:00" }] };
    expect(openIntervals(rules, "2026-12-01T00:00:00+09:00", "2026-12-08T00:00:00+09:00")).toEqual([
      span("2026-12-04T09:00:00+09:00", "2026-12-05T09:00:00+09:00"),
    ]);
  });

  it("when the vehicle is in New York, then a 09:00-17:00 window on the spring-forward Sunday is 13:00Z-21:00Z", () => {
    const rules: AvailabilityRules = { timezone: "America/New_York", weekly: [{ day: 0, start: "09:00", end: "17:00" }] };
    expect(asIso(openIntervals(rules, "2026-03-01T00:00:00Z", "2026-03-10T00:00:00Z"))).toEqual([
      ["2026-03-01T14:00:00.000Z", "2026-03-01T22:00:00.000Z"], // EST, UTC-5
      ["2026-03-08T13:00:00.000Z", "2026-03-08T21:00:00.000Z"], // EDT, UTC-4
    ]);
  });

  it("when a New York window spans the DST change itself, then it lasts 5 hours in spring and 7 in autumn", () => {
    const rules: AvailabilityRules = { timezone: "America/New_York", weekly: [{ day: 0, start: "00:00", end: "06:00" }] };
    const [spring] = openIntervals(rules, "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00");
    const [autumn] = openIntervals(rules, "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00");
    expect(spring).toEqual(span("2026-03-08T05:00:00Z", "2026-03-08T10:00:00Z"));
    expect(autumn).toEqual(span("2026-11-01T04:00:00Z", "2026-11-01T11:00:00Z"));
    expect((spring.end - spring.start) / HOUR).toBe(5);
    expect((autumn.end - autumn.start) / HOUR).toBe(7);
  });

  it("when a date has a closed exception, then that day's weekly window is gone", () => {
    const rules: AvailabilityRules = {
      weekly: [{ day: FRI, start: "09:00", end: "18:00" }],
      exceptions: [{ date: "2026-12-25", closed: true }],
    };
    expect(asIso(openIntervals(rules, "2026-12-18T00:00:00+09:00", "2027-01-02T00:00:00+09:00"))).toEqual([
      ["2026-12-18T00:00:00.000Z", "2026-12-18T09:00:00.000Z"],
      ["2027-01-01T00:00:00.000Z", "2027-01-01T09:00:00.000Z"],
    ]);
  });

  it("when a date has a window exception, then only that window is open that day", () => {
    const rules: AvailabilityRules = {
      weekly: [{ day: FRI, start: "09:00", end: "18:00" }, { day: FRI, start: "20:00", end: "22:00" }],
      exceptions: [{ date: "2026-12-04", start: "13:00", end: "15:00" }],
    };
    expect(openIntervals(rules, "2026-12-04T00:00:00+09:00", "2026-12-05T00:00:00+09:00")).toEqual([
      span("2026-12-04T13:00:00+09:00", "2026-12-04T15:00:00+09:00"),
    ]);
  });

  it("when there are no weekly rules, then an exception restricts only its own date", () => {
    const rules: AvailabilityRules = { exceptions: [{ date: "2026-12-05", start: "10:00", end: "12:00" }] };
    expect(openIntervals(rules, "2026-12-04T00:00:00+09:00", "2026-12-07T00:00:00+09:00")).toEqual([
      span("2026-12-04T00:00:00+09:00", "2026-12-05T00:00:00+09:00"),
      span("2026-12-05T10:00:00+09:00", "2026-12-05T12:00:00+09:00"),
      span("2026-12-06T00:00:00+09:00", "2026-12-07T00:00:00+09:00"),
    ]);
  });

  it("when the day after an overnight window is closed, then the overnight window is kept (it belongs to its start date)", () => {
    const rules: AvailabilityRules = {
      weekly: [{ day: FRI, start: "22:00", end: "02:00" }],
      exceptions: [{ date: "2026-12-05", closed: true }],
    };
    expect(openIntervals(rules, "2026-12-04T00:00:00+09:00", "2026-12-06T00:00:00+09:00")).toEqual([
      span("2026-12-04T22:00:00+09:00", "2026-12-05T02:00:00+09:00"),
    ]);
  });

  it("when blocks are set, then they are cut out of open time", () => {
    const rules: AvailabilityRules = {
      weekly: [{ day: MON, start: "09:00", end: "18:00" }],
      blocks: [
        { start: "2026-12-07T12:00:00+09:00", end: "2026-12-07T13:00:00+09:00", reason: "car wash" },
        { start: "2026-12-07T17:00:00+09:00", end: "2026-12-08T09:00:00+09:00" },
      ],
    };
    expect(openIntervals(rules, "2026-12-07T00:00:00+09:00", "2026-12-08T00:00:00+09:00")).toEqual([
      span("2026-12-07T09:00:00+09:00", "2026-12-07T12:00:00+09:00"),
      span("2026-12-07T13:00:00+09:00", "2026-12-07T17:00:00+09:00"),
    ]);
  });

  it("when blocks are set without weekly rules, then the rest of the time is open", () => {
    const rules: AvailabilityRules = { blocks: [{ start: "2026-12-01T10:00:00Z", end: "2026-12-01T11:00:00Z" }] };
    expect(openIntervals(rules, "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")).toEqual([
      span("2026-12-01T00:00:00Z", "2026-12-01T10:00:00Z"),
      span("2026-12-01T11:00:00Z", "2026-12-02T00:00:00Z"),
    ]);
  });

  it("when the range is empty, reversed or too long, then it is empty or refused", () => {
    expect(openIntervals({}, "2026-12-02T00:00:00Z", "2026-12-01T00:00:00Z")).toEqual([]);
    expect(() => openIntervals({}, "2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z")).toThrow(RangeError);
    expect(() => openIntervals({}, "2026-01-01", "2026-01-02T00:00:00Z")).toThrow(RangeError);
  });
});

describe("freeIntervals and isBookable", () => {
  const rules: AvailabilityRules = {
    weekly: [
      { day: MON, start: "09:00", end: "18:00" },
      { day: TUE, start: "09:00", end: "18:00" },
    ],
  };
  const booking = span("2026-12-07T11:00:00+09:00", "2026-12-07T13:00:00+09:00");

  it("when a booking holds part of a day, then free time is the rest of the opening hours", () => {
    expect(freeIntervals(rules, "2026-12-07T00:00:00+09:00", "2026-12-08T00:00:00+09:00", [booking])).toEqual([
      span("2026-12-07T09:00:00+09:00", "2026-12-07T11:00:00+09:00"),
      span("2026-12-07T13:00:00+09:00", "2026-12-07T18:00:00+09:00"),
    ]);
  });

  it("when the window is inside free time, then it is bookable", () => {
    expect(isBookable(rules, "2026-12-07T14:00:00+09:00", "2026-12-07T18:00:00+09:00", [booking])).toBe(true);
  });

  it("when the window starts exactly as a booking ends, then it is bookable (half-open)", () => {
    expect(isBookable(rules, "2026-12-07T13:00:00+09:00", "2026-12-07T14:00:00+09:00", [booking])).toBe(true);
  });

  it("when the window overlaps a booking, then it is not bookable", () => {
    expect(isBookable(rules, "2026-12-07T12:59:00+09:00", "2026-12-07T14:00:00+09:00", [booking])).toBe(false);
  });

  it("when the window spans the closed night between two open days, then it is not bookable", () => {
    expect(isBookable(rules, "2026-12-07T17:00:00+09:00", "2026-12-08T10:00:00+09:00", [])).toBe(false);
  });

  it("when the window runs past closing time or hits a closed day, then it is not bookable", () => {
    expect(isBookable(rules, "2026-12-07T17:00:00+09:00", "2026-12-07T19:00:00+09:00", [])).toBe(false);
    expect(isBookable(rules, "2026-12-09T10:00:00+09:00", "2026-12-09T11:00:00+09:00", [])).toBe(false);
  });

  it("when the window crosses midnight through touching windows, then it is bookable", () => {
    const overnight: AvailabilityRules = { weekly: [{ day: MON, start: "00:00", end: "24:00" }, { day: TUE, start: "00:00", end: "12:00" }] };
    expect(isBookable(overnight, "2026-12-07T20:00:00+09:00", "2026-12-08T02:00:00+09:00", [])).toBe(true);
  });

  it("when the window is empty or reversed, then it is not bookable", () => {
    expect(isBookable({}, "2026-12-07T10:00:00Z", "2026-12-07T10:00:00Z", [])).toBe(false);
    expect(isBookable({}, "2026-12-07T11:00:00Z", "2026-12-07T10:00:00Z", [])).toBe(false);
  });

  it("when a multi-day window is fully open, then it is bookable unless a booking falls inside", () => {
    expect(isBookable({}, new Date("2026-12-01T00:00:00Z"), at("2026-12-06T00:00:00Z"), [booking])).toBe(true);
    expect(isBookable({}, new Date("2026-12-01T00:00:00Z"), at("2026-12-20T00:00:00Z"), [booking])).toBe(false);
  });
});

describe("validateRules", () => {
  it("when the rules are valid, then there are no problems", () => {
    expect(validateRules({
      timezone: "America/New_York",
      weekly: [{ day: 0, start: "09:00", end: "24:00" }, { day: 6, start: "22:00", end: "02:00" }],
      exceptions: [{ date: "2026-12-25", closed: true }, { date: "2026-12-31", start: "10:00", end: "14:00" }],
      blocks: [{ start: "2026-12-01T09:00:00+09:00", end: "2026-12-01T10:00:00Z", reason: "service" }],
    })).toEqual([]);
    expect(validateRules({})).toEqual([]);
  });

  it("when weekly entries are malformed, then each bad field is named", () => {
    const problems = validateRules({ weekly: [{ day: 7, start: "9:00", end: "24:01" }, { day: 1.5, start: "24:00", end: "10:00" }] });
    expect(problems.map((p) => p.field)).toEqual(["weekly[0].day", "weekly[0].start", "weekly[0].end", "weekly[1].day", "weekly[1].start"]);
  });

  it("when exceptions are malformed, then dates, shapes and duplicates are reported", () => {
    const problems = validateRules({
      exceptions: [
        { date: "2026-02-30", closed: true },
        { date: "2026-12-25", closed: true },
        { date: "2026-12-25", start: "10:00", end: "12:00" },
        { date: "2026-12-26" },
        { date: "2026-12-27", closed: true, start: "10:00" },
      ],
    });
    expect(problems).toEqual([
      { field: "exceptions[0].date", message: "must be a real date YYYY-MM-DD" },
      { field: "exceptions[2].date", message: "another exception already covers this date" },
      { field: "exceptions[3].start", message: expect.any(String) },
      { field: "exceptions[3].end", message: expect.any(String) },
      { field: "exceptions[4]", message: "a closed day has no start or end" },
    ]);
  });

  it("when blocks are malformed, then bad instants and end <= start are reported", () => {
    const problems = validateRules({
      blocks: [
        { start: "2026-12-01T10:00:00Z", end: "2026-12-01T10:00:00Z" },
        { start: "2026-12-01T10:00", end: "nope" },
        { start: "2026-12-01T10:00:00Z", end: "2026-12-01T11:00:00Z", reason: 42 },
      ],
    });
    expect(problems).toEqual([
      { field: "blocks[0].end", message: "must be after start" },
      { field: "blocks[1].start", message: expect.stringContaining("offset") },
      { field: "blocks[1].end", message: expect.stringContaining("offset") },
      { field: "blocks[2].reason", message: expect.any(String) },
    ]);
  });

  it("when the timezone is unknown, then it is reported", () => {
    expect(validateRules({ timezone: "Mars/Olympus_Mons" })).toEqual([{ field: "timezone", message: expect.any(String) }]);
  });

  it("when a list has more than 200 entries, then it is reported once", () => {
    const weekly = Array.from({ length: MAX_ENTRIES + 1 }, () => ({ day: 1, start: "09:00", end: "10:00" }));
    expect(validateRules({ weekly })).toEqual([{ field: "weekly", message: "must have at most 200 entries" }]);
  });

  it("when the document or a list has the wrong type, then it is reported", () => {
    expect(validateRules(null)).toEqual([{ field: "", message: "must be an object" }]);
    expect(validateRules({ weekly: {}, blocks: ["x"] })).toEqual([
      { field: "weekly", message: "must be an array" },
      { field: "blocks[0]", message: "must be an object" },
    ]);
  });
});
