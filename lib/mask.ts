/** PII never reaches the logs in full. */
export function maskPhone(phone: string | undefined | null): string {
  if (!phone) return "";
  return phone.length <= 6 ? "***" : `${phone.slice(0, 4)}****${phone.slice(-2)}`;
}

export function maskEmail(email: string | undefined | null): string {
  if (!email) return "";
  const [user, domain] = email.split("@");
  return `${user.slice(0, 1)}***@${domain ?? ""}`;
}
