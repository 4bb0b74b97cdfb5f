import { platformFeeOf, quote } from "./pricing";

const start = "2026-12-01T09:00:00+09:00";

describe("quote", () => {
  it("when the window is exactly 3 hours, then 3 hours are billed with a 15 % fee", () => {
    expect(quote({ start, end: "2026-12-01T12:00:00+09:00", hourlyRate: 10_000 })).toEqual({
      hours: 3, hourlyRate: 10_000, total: 30_000, platformFee: 4_500, hostAmount: 25_500, currency: "KRW",
    });
  });

  it("when the window is 61 minutes, then 2 hours are billed", () => {
    expect(quote({ start, end: "2026-12-01T10:01:00+09:00", hourlyRate: 5_000 }).hours).toBe(2);
  });

  it("when the window is 1 millisecond, then 1 hour is billed", () => {
    const s = new Date("2026-12-01T00:00:00Z");
    expect(quote({ start: s, end: new Date(s.getTime() + 1), hourlyRate: 1 }).hours).toBe(1);
  });

  it("when start and end are given in different offsets, then the real elapsed time counts", () => {
    // 09:00+09:00 == 00:00Z; 02:00Z is 2 hours later
    expect(quote({ start, end: "2026-12-01T02:00:00Z", hourlyRate: 100 }).hours).toBe(2);
  });

  it("when the fee has a fraction below one half, then it is rounded down (10003 -> 1500.45 -> 1500)", () => {
    const q = quote({ start, end: "2026-12-01T10:00:00+09:00", hourlyRate: 10_003 });
    expect(q.platformFee).toBe(1_500);
    expect(q.hostAmount).toBe(8_503);
  });

  it("when the fee is exactly half a unit, then it is rounded up (10010 -> 1501.5 -> 1502)", () => {
    const q = quote({ start, end: "2026-12-01T10:00:00+09:00", hourlyRate: 10_010 });
    expect(q.platformFee).toBe(1_502);
    expect(q.hostAmount).toBe(8_508);
  });

  it("when a custom fee and currency are given, then they are used", () => {
    const q = quote({ start, end: "2026-12-01T11:00:00+09:00", hourlyRate: 1_234, currency: "USD", feeBps: 1000 });
    expect(q).toMatchObject({ total: 2_468, platformFee: 247, hostAmount: 2_221, currency: "USD" });
  });

  it("when end equals or precedes start, then a RangeError is thrown", () => {
    expect(() => quote({ start, end: start, hourlyRate: 1 })).toThrow(RangeError);
    expect(() => quote({ start, end: "2026-12-01T08:00:00+09:00", hourlyRate: 1 })).toThrow(RangeError);
  });

  it("when a time has no offset or is not a date, then a RangeError is thrown", () => {
    expect(() => quote({ start: "2026-12-01T09:00", end: "2026-12-01T11:00:00Z", hourlyRate: 1 })).toThrow(RangeError);
    expect(() => quote({ start: "tomorrow", end: "2026-12-01T11:00:00Z", hourlyRate: 1 })).toThrow(RangeError);
    expect(() => quote({ start: new Date(NaN), end: "2026-12-01T11:00:00Z", hourlyRate: 1 })).toThrow(RangeError);
  });

  it("when the rate, fee or currency is invalid, then a RangeError is thrown", () => {
    const end = "2026-12-01T10:00:00+09:00";
    expect(() => quote({ start, end, hourlyRate: 10.5 })).toThrow(RangeError);
    expect(() => quote({ start, end, hourlyRate: -1 })).toThrow(RangeError);
    expect(() => quote({ start, end, hourlyRate: 1, feeBps: 10_001 })).toThrow(RangeError);
    expect(() => quote({ start, end, hourlyRate: 1, currency: "won" })).toThrow(RangeError);
  });
});

describe("platformFeeOf", () => {
  it("when totals are swept, then the fee equals half-up rounding computed exactly", () => {
    for (let total = 0; total < 20_000; total += 7) {
      const scaled = total * 1500; // exact in doubles at this size
      const expected = Math.floor(scaled / 10_000) + (scaled % 10_000 >= 5_000 ? 1 : 0);
      expect(platformFeeOf(total, 1500)).toBe(expected);
    }
  });

  it("when the total is near the largest safe integer, then the fee is still exact", () => {
    // 9007199254740991 * 1500 / 10000 = 1351079888211148.65 (a double would say ...148.6)
    expect(platformFeeOf(Number.MAX_SAFE_INTEGER, 1500)).toBe(1_351_079_888_211_149);
    expect(platformFeeOf(10_000, 0)).toBe(0);
    expect(platformFeeOf(10_000, 10_000)).toBe(10_000);
  });
});
