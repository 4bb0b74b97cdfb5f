/**
 * Korean business registration number (사업자등록번호): 10 digits, usually
 * written 123-45-67890, the last one a check digit over the first nine.
 */
const WEIGHTS = [1, 3, 7, 1, 3, 7, 1, 3, 5] as const;
const SHAPE = /^(\d{3})-?(\d{2})-?(\d{5})$/;

/** The 10 digits of a number written with or without its two dashes; null when it has another shape. */
export function brnDigits(input: string): string | null {
  const m = SHAPE.exec(input.trim());
  return m ? m[1] + m[2] + m[3] : null;
}

/** True when `input` has the right shape and its check digit is right. */
export function isValidBrn(input: string): boolean {
  const digits = brnDigits(input);
  if (!digits) return false;
  const d = [...digits].map(Number);
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += d[i] * WEIGHTS[i];
  sum += Math.floor((d[8] * 5) / 10);
  return (10 - (sum % 10)) % 10 === d[9];
}

/** "2208162517" -> "220-81-62517". */
export function formatBrn(digits: string): string {
  return `${digits.slice(0, 3)}-${digits.slice(3, 5)}-${digits.slice(5)}`;
}
