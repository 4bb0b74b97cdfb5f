import { utcToZonedLocal, zonedLocalToUtc } from "../domain/zoned-time";
import { parseForm } from "./form";
import { escapeHtml, pickLocale } from "./index";

const now = new Date("2026-01-15T03:00:00Z"); // 12:00 in Seoul

describe("the driver form", () => {
  it("when it is filled in, then it reads as a report in UTC", () => {
    const f = parseForm({ paid: "yes", amount: "55,000", method: "card", paidAt: "2026-01-15T10:30", note: " ok ", idempotencyKey: "abcdefghijklmnopqrstuv" }, "Asia/Seoul", now);
    expect(f.errors).toEqual([]);
    expect(f.report).toEqual({ paid: true, amount: 55_000, method: "card", paidAt: "2026-01-15T01:30:00.000Z", note: "ok" });
    expect(f.idempotencyKey).toBe("abcdefghijklmnopqrstuv");
  });

  it("when fields are wrong, then each is named and there is no report", () => {
    const f = parseForm({ paid: "maybe", amount: "12a", method: "gold", paidAt: "2026-02-30T10:00", idempotencyKey: "short" }, "Asia/Seoul", now);
    expect(f.errors.sort()).toEqual(["amount", "paid", "paidAt"]);
    expect(f.report).toBeUndefined();
    expect(f.idempotencyKey).toBeUndefined();
    expect(parseForm({ paid: "yes", amount: "1", method: "gold" }, "Asia/Seoul", now).errors).toEqual(["method"]);
    expect(parseForm({ paid: "yes", amount: "1", method: "cash", paidAt: "2026-01-16T10:00" }, "Asia/Seoul", now).errors).toEqual(["paidAt"]); // the future
    expect(parseForm({ paid: ["yes", "no"], amount: "1", method: "cash" }, "Asia/Seoul", now).errors).toEqual(["paid"]);
  });

  it("when not paid, then amount and method may be left out", () => {
    expect(parseForm({ paid: "no", amount: "" }, "Asia/Seoul", now).report).toEqual({ paid: false, amount: 0, method: "other", paidAt: now.toISOString() });
  });

  it("reads typed times in the zone, daylight saving included", () => {
    expect(zonedLocalToUtc("2026-07-01T09:00", "America/New_York")).toBe("2026-07-01T13:00:00.000Z");
    expect(zonedLocalToUtc("2026-01-01T09:00", "America/New_York")).toBe("2026-01-01T14:00:00.000Z");
    expect(utcToZonedLocal(new Date("2026-01-15T01:30:00Z"), "Asia/Seoul")).toBe("2026-01-15T10:30");
    expect(zonedLocalToUtc("tomorrow", "Asia/Seoul")).toBeNull();
  });

  it("escapes and picks the language", () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe("&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;");
    expect(pickLocale("en-US,en;q=0.9,ko;q=0.8")).toBe("en");
    expect(pickLocale("ko-KR,en;q=0.5")).toBe("ko");
    expect(pickLocale(undefined)).toBe("ko");
  });
});
