/** Reads the driver page's urlencoded form into a report, or the fields that need fixing. */
import type { Report } from "../domain/model";
import { zonedLocalToUtc } from "../domain/zoned-time";
import { METHODS, type FormValues } from "./index";

const KEY = /^[A-Za-z0-9_-]{16,100}$/;

export interface ParsedForm { values: FormValues; errors: string[]; report?: Report; idempotencyKey?: string }

/** One value per field; a repeated field or a non-string is taken as absent. */
function field(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  return typeof v === "string" ? v : undefined;
}

export function parseForm(body: Record<string, unknown>, zone: string, now = new Date()): ParsedForm {
  const values: FormValues = {
    paid: field(body, "paid"),
    amount: field(body, "amount")?.trim(),
    method: field(body, "method"),
    paidAt: field(body, "paidAt")?.trim(),
    note: field(body, "note") ?? "",
  };
  const key = field(body, "idempotencyKey");
  const errors: string[] = [];
  const paid = values.paid === "yes" ? true : values.paid === "no" ? false : undefined;
  if (paid === undefined) errors.push("paid");

  const digits = (values.amount ?? "").replace(/[\s,.₩]/g, "");
  let amount = 0;
  if (digits) {
    if (/^\d{1,13}$/.test(digits)) amount = Number(digits);
    else errors.push("amount");
  } else if (paid) errors.push("amount");

  const method = (METHODS as readonly string[]).includes(values.method ?? "") ? (values.method as Report["method"]) : undefined;
  if (paid && !method) errors.push("method");

  let paidAt = now.toISOString();
  if (values.paidAt) {
    const utc = zonedLocalToUtc(values.paidAt, zone);
    if (!utc || Date.parse(utc) > now.getTime() + 10 * 60_000) errors.push("paidAt");
    else paidAt = utc;
  }
  const note = values.note?.trim() ?? "";
  if (note.length > 500) errors.push("note");

  const parsed: ParsedForm = { values, errors, ...(key && KEY.test(key) && { idempotencyKey: key }) };
  if (!errors.length && paid !== undefined) {
    parsed.report = { paid, amount, method: method ?? "other", paidAt, ...(note && { note }) };
  }
  return parsed;
}
