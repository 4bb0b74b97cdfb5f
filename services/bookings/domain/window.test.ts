import { checkWindow, overlaps } from "./window";

const now = Date.parse("2030-01-01T00:00:00Z");
const problems = (start: string, end: string) => {
  try {
    checkWindow(start, end, { now, maxDays: 30 });
    return [];
  } catch (err: any) {
    return err.data;
  }
};

test("when the window is well-formed, then it comes back in UTC", () => {
  expect(checkWindow("2030-01-02T09:00:00+09:00", "2030-01-02T10:00+09:00", { now, maxDays: 30 })).toMatchObject({ start: "2030-01-02T00:00:00.000Z", end: "2030-01-02T01:00:00.000Z" });
});

test("when the window is wrong, then each problem is named on its field", () => {
  expect(problems("2029-12-31T23:00:00Z", "2030-01-01T05:00:00Z")).toEqual([{ field: "start", message: "must be in the future" }]);
  expect(problems("2030-01-02T10:00:00Z", "2030-01-02T10:59:59Z")).toEqual([{ field: "end", message: "a booking lasts at least one hour" }]);
  expect(problems("2030-01-02T10:00:00Z", "2030-01-02T09:00:00Z")).toEqual([{ field: "end", message: "must be after start" }]);
  expect(problems("2030-01-02T00:00:00Z", "2030-02-01T00:00:01Z")).toEqual([{ field: "end", message: "a booking lasts at most 30 days" }]);
  expect(problems("2030-01-02T00:00:00Z", "2030-02-01T00:00:00Z")).toEqual([]);
  expect(problems("2030-01-02 10:00", "2030-01-02T12:00:00")).toHaveLength(2);
});

test("when windows touch, then they do not overlap", () => {
  const a = { start: "2030-01-01T10:00:00.000Z", end: "2030-01-01T12:00:00.000Z" };
  expect(overlaps(a, { start: "2030-01-01T12:00:00.000Z", end: "2030-01-01T13:00:00.000Z" })).toBe(false);
  expect(overlaps(a, { start: "2030-01-01T11:59:59.999Z", end: "2030-01-01T13:00:00.000Z" })).toBe(true);
  expect(overlaps(a, { start: "2030-01-01T09:00:00.000Z", end: "2030-01-01T10:00:00.000Z" })).toBe(false);
});
