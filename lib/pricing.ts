/**
 * Booking price quotes: whole hours (any started hour counts), a total in the
 * smallest unit of the currency, and the platform's fee split (API.md
 * "Conventions": fee in basis points, rounded half up, hostAmount = rest).
 * Pure integer arithmetic; the fee is computed with BigInt so no float error
 * can creep in at any size.
 */

export const HOUR_MS = 3_600_000;
export const DEFAULT_CURRENCY = "KRW";
export const DEFAULT_FEE_BPS = 1500;

export interface QuoteInput {
  start: string | Date;
  end: string | Date;
  /** Price per started hour, integer in the smallest currency unit. */
  hourlyRate: number;
  currency?: string;
  /** Platform fee in basis points (1500 = 15 %), 0..10000. */
  feeBps?: number;
}

export interface Quote {
  hours: number;
  hourlyRate: number;
  total: number;
  platformFee: number;
  hostAmount: number;
  currency: string;
}

/** ISO 8601 date-time with an explicit offset, as API.md requires. */
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

function toEpochMs(value: string | Date, name: string): number {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new RangeError(`${name} is an invalid Date`);
    return ms;
  }
  const ms = ISO_WITH_OFFSET.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new RangeError(`${name} must be an ISO 8601 date-time with an offset, got "${value}"`);
  return ms;
}

/** Number of started hours between start and end (61 minutes -> 2). */
export function billableHours(startMs: number, endMs: number): number {
  if (!(endMs > startMs)) throw new RangeError("end must be after start");
  return Math.ceil((endMs - startMs) / HOUR_MS);
}

/** round(total * feeBps / 10000), half up, exactly. Total must be >= 0. */
export function platformFeeOf(total: number, feeBps: number): number {
  const fee = (BigInt(total) * BigInt(feeBps) + 5000n) / 10000n;
  return Number(fee);
}

function checkInputs(hourlyRate: number, currency: string, feeBps: number): void {
  if (!Number.isSafeInteger(hourlyRate) || hourlyRate < 0) {
    throw new RangeError("hourlyRate must be a non-negative integer (smallest currency unit)");
  }
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 10_000) {
    throw new RangeError("feeBps must be an integer between 0 and 10000");
  }
  if (!/^[A-Z]{3}$/.test(currency)) throw new RangeError("currency must be an ISO 4217 code such as KRW");
}

export function quote({ start, end, hourlyRate, currency = DEFAULT_CURRENCY, feeBps = DEFAULT_FEE_BPS }: QuoteInput): Quote {
  checkInputs(hourlyRate, currency, feeBps);
  const hours = billableHours(toEpochMs(start, "start"), toEpochMs(end, "end"));
  const total = hours * hourlyRate;
  if (!Number.isSafeInteger(total)) throw new RangeError("total is too large to represent exactly");
  const platformFee = platformFeeOf(total, feeBps);
  return { hours, hourlyRate, total, platformFee, hostAmount: total - platformFee, currency };
}
