/**
 * The driver's page `/d/<token>`: pure functions from data to HTML. Works
 * without JavaScript (a plain form posting application/x-www-form-urlencoded
 * to the same address), loads nothing from anywhere, escapes every value, and
 * ships with a strict Content-Security-Policy whose only allowance is the hash
 * of its one inline stylesheet.
 */
import { createHash } from "node:crypto";
import type { LinkSummary, SubmitAnswer } from "../domain/model";

export type PageLocale = "ko" | "en";

const CSS = `*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Apple SD Gothic Neo","Noto Sans KR",sans-serif;color:#1b1f24;background:#f4f5f7}
main{max-width:32rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.5rem 0 1rem}
.card{background:#fff;border-radius:.75rem;padding:1rem;margin-bottom:1rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:.35rem .75rem}
dt{color:#5b6470}
dd{margin:0;font-weight:600}
.amount{font-size:1.4rem}
.muted{color:#5b6470;font-size:.9rem}
fieldset{border:0;padding:0;margin:0 0 1rem}
legend,label.field{display:block;font-weight:600;margin:.75rem 0 .35rem}
.choice{display:flex;gap:.5rem}
.choice label{flex:1;border:1px solid #c9ced6;border-radius:.5rem;padding:.75rem;text-align:center}
input,select,textarea{width:100%;font:inherit;padding:.7rem;border:1px solid #c9ced6;border-radius:.5rem;background:#fff}
.choice input{width:auto;margin-right:.35rem}
textarea{min-height:4.5rem}
button{width:100%;margin-top:1.25rem;padding:.9rem;font:inherit;font-weight:700;color:#fff;background:#0b6bcb;border:0;border-radius:.5rem}
.errors{background:#fdecec;color:#8a1c1c;border-radius:.5rem;padding:.75rem 1rem;margin-bottom:1rem}
.ok{background:#e8f6ec;color:#14532d}
.warn{background:#fff6e0;color:#6b4a00}`;

const STYLE_HASH = `'sha256-${createHash("sha256").update(CSS).digest("base64")}'`;

/** Nothing may load or run; the one stylesheet is allowed by its hash; the form posts only here. */
export const PAGE_CSP = `default-src 'none'; style-src ${STYLE_HASH}; img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

export const PAGE_HEADERS: Record<string, string> = {
  "Content-Security-Policy": PAGE_CSP,
  "Cache-Control": "no-store",
  "X-Robots-Tag": "noindex, nofollow",
  "Referrer-Policy": "no-referrer",
};

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };

export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

const T = {
  ko: {
    title: "결제 확인",
    vehicle: "차량",
    period: "예약 기간",
    expected: "받으실 금액",
    validUntil: "링크 유효 기간",
    question: "임차인에게 결제를 받으셨나요?",
    yes: "네, 받았어요",
    no: "아니요, 못 받았어요",
    amount: "받은 금액",
    method: "결제 방법",
    paidAt: "받은 시각",
    note: "메모 (선택)",
    submit: "보내기",
    methods: { cash: "현금", bank_transfer: "계좌이체", card: "카드", mobile: "모바일 결제", other: "기타" },
    fix: "입력 내용을 확인해 주세요",
    doneTitle: "감사합니다",
    donePaid: "결제 완료가 기록되었습니다.",
    doneUnpaid: "미결제로 기록되었습니다. 차주에게 알렸습니다.",
    discrepancy: "받은 금액이 예정 금액과 달라 차주가 확인할 예정입니다.",
    bookingStatus: "예약 상태",
    confirmedSoon: "곧 확정됩니다",
    statuses: { requested: "요청됨", accepted: "수락됨", confirmed: "확정됨", active: "이용 중", completed: "완료", declined: "거절됨", cancelled: "취소됨", expired: "만료됨" } as Record<string, string>,
    recorded: "기록된 금액",
    retry: "저장하지 못했습니다. 잠시 후 다시 보내 주세요.",
    problems: {
      NOT_FOUND: ["링크를 찾을 수 없습니다", "주소가 정확한지 확인해 주세요. 새 링크가 필요하면 차주에게 요청해 주세요."],
      LINK_USED: ["이미 사용된 링크입니다", "이 링크로 결제 확인이 이미 접수되었습니다."],
      LINK_EXPIRED: ["만료된 링크입니다", "새 링크가 필요하면 차주에게 요청해 주세요."],
      RATE_LIMITED: ["요청이 너무 많습니다", "1분 후에 다시 시도해 주세요."],
      ERROR: ["일시적인 문제가 발생했습니다", "잠시 후 다시 시도해 주세요."],
    } as Record<string, [string, string]>,
    errors: { paid: "받았는지 선택해 주세요", amount: "금액을 숫자로 입력해 주세요", method: "결제 방법을 선택해 주세요", paidAt: "받은 시각을 확인해 주세요", note: "메모는 500자까지 쓸 수 있습니다" } as Record<string, string>,
  },
  en: {
    title: "Payment confirmation",
    vehicle: "Vehicle",
    period: "Booking",
    expected: "Expected amount",
    validUntil: "Link valid until",
    question: "Did the renter pay you?",
    yes: "Yes, paid",
    no: "No, not paid",
    amount: "Amount received",
    method: "Method",
    paidAt: "Time received",
    note: "Note (optional)",
    submit: "Send",
    methods: { cash: "Cash", bank_transfer: "Bank transfer", card: "Card", mobile: "Mobile payment", other: "Other" },
    fix: "Please check what you entered",
    doneTitle: "Thank you",
    donePaid: "The payment was recorded as paid.",
    doneUnpaid: "Recorded as not paid. The owner has been told.",
    discrepancy: "The amount differs from the expected one; the owner will check it.",
    bookingStatus: "Booking",
    confirmedSoon: "confirmed shortly",
    statuses: { requested: "requested", accepted: "accepted", confirmed: "confirmed", active: "in progress", completed: "completed", declined: "declined", cancelled: "cancelled", expired: "expired" } as Record<string, string>,
    recorded: "Amount recorded",
    retry: "This could not be saved. Please send it again in a moment.",
    problems: {
      NOT_FOUND: ["This link is not valid", "Check the address. If you need a new link, ask the owner."],
      LINK_USED: ["This link has already been used", "A payment report was already received through this link."],
      LINK_EXPIRED: ["This link has expired", "If you need a new link, ask the owner."],
      RATE_LIMITED: ["Too many attempts", "Please try again in a minute."],
      ERROR: ["Something went wrong", "Please try again in a moment."],
    } as Record<string, [string, string]>,
    errors: { paid: "Choose whether you were paid", amount: "Enter the amount as a number", method: "Choose a method", paidAt: "Check the time", note: "The note can be up to 500 characters" } as Record<string, string>,
  },
};

const INTL: Record<PageLocale, string> = { ko: "ko-KR", en: "en-GB" };
export const METHODS = ["cash", "bank_transfer", "card", "mobile", "other"] as const;

/** The page's language from an Accept-Language header: Korean unless English comes first. */
export function pickLocale(acceptLanguage: string | undefined): PageLocale {
  const first = (acceptLanguage ?? "").split(",")[0]?.trim().toLowerCase() ?? "";
  return first.startsWith("en") ? "en" : "ko";
}

export function formatMoney(amount: number, currency: string, locale: PageLocale): string {
  try {
    const f = new Intl.NumberFormat(INTL[locale], { style: "currency", currency });
    const digits = f.resolvedOptions().maximumFractionDigits ?? 0;
    return f.format(amount / 10 ** digits);
  } catch {
    return `${amount} ${currency}`;
  }
}

export function formatTime(iso: string, locale: PageLocale, zone: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(INTL[locale], { timeZone: zone, year: "numeric", month: "short", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit" }).format(d);
}

function layout(locale: PageLocale, title: string, body: string): string {
  return `<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · carshare</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function summaryCard(s: LinkSummary, locale: PageLocale, zone: string): string {
  const t = T[locale];
  const v = s.booking.vehicle;
  return `<section class="card" aria-label="${escapeHtml(t.period)}">
<dl>
<dt>${t.vehicle}</dt><dd id="vehicle">${escapeHtml(`${v.make} ${v.model}`)} <span class="muted">${escapeHtml(v.licensePlate)}</span></dd>
<dt>${t.period}</dt><dd id="period">${escapeHtml(formatTime(s.booking.start, locale, zone))} – ${escapeHtml(formatTime(s.booking.end, locale, zone))}</dd>
<dt>${t.expected}</dt><dd id="expected" class="amount">${escapeHtml(formatMoney(s.booking.expectedAmount, s.booking.currency, locale))}</dd>
</dl>
<p class="muted">${t.validUntil}: ${escapeHtml(formatTime(s.expiresAt, locale, zone))}</p>
</section>`;
}

export interface FormValues { paid?: string; amount?: string; method?: string; paidAt?: string; note?: string }

export interface FormPage {
  token: string;
  summary: LinkSummary;
  idempotencyKey: string;
  locale: PageLocale;
  zone: string;
  /** datetime-local value for "now" in the zone. */
  nowLocal: string;
  values?: FormValues;
  /** Field names with a problem. */
  errors?: string[];
  /** A banner when saving failed for a reason that is not the driver's. */
  failure?: boolean;
}

export function renderForm(p: FormPage): string {
  const t = T[p.locale];
  const v: FormValues = { paid: "yes", amount: String(p.summary.booking.expectedAmount), method: "cash", paidAt: p.nowLocal, note: "", ...p.values };
  const errors = p.errors ?? [];
  const banner = errors.length
    ? `<div class="errors" role="alert"><strong>${t.fix}</strong><ul>${errors.map((f) => `<li>${escapeHtml(t.errors[f] ?? f)}</li>`).join("")}</ul></div>`
    : p.failure
      ? `<div class="errors" role="alert">${t.retry}</div>`
      : "";
  const checked = (value: string) => (v.paid === value ? " checked" : "");
  const options = METHODS.map((m) => `<option value="${m}"${v.method === m ? " selected" : ""}>${escapeHtml(t.methods[m])}</option>`).join("");
  return layout(
    p.locale,
    t.title,
    `<h1>${t.title}</h1>
${summaryCard(p.summary, p.locale, p.zone)}
${banner}
<form class="card" method="post" action="/d/${escapeHtml(encodeURIComponent(p.token))}" accept-charset="utf-8">
<input type="hidden" name="idempotencyKey" value="${escapeHtml(p.idempotencyKey)}">
<fieldset>
<legend>${t.question}</legend>
<div class="choice">
<label><input type="radio" name="paid" value="yes"${checked("yes")}>${t.yes}</label>
<label><input type="radio" name="paid" value="no"${checked("no")}>${t.no}</label>
</div>
</fieldset>
<label class="field" for="amount">${t.amount} (${escapeHtml(p.summary.booking.currency)})</label>
<input id="amount" name="amount" inputmode="numeric" autocomplete="off" maxlength="15" value="${escapeHtml(v.amount)}">
<label class="field" for="method">${t.method}</label>
<select id="method" name="method">${options}</select>
<label class="field" for="paidAt">${t.paidAt}</label>
<input id="paidAt" name="paidAt" type="datetime-local" value="${escapeHtml(v.paidAt)}">
<label class="field" for="note">${t.note}</label>
<textarea id="note" name="note" maxlength="500">${escapeHtml(v.note)}</textarea>
<button type="submit">${t.submit}</button>
</form>`,
  );
}

export function renderOutcome(answer: SubmitAnswer, locale: PageLocale): string {
  const t = T[locale];
  const p = answer.payment;
  const paid = p.status === "paid";
  const status = answer.booking.confirmationPending ? t.confirmedSoon : t.statuses[answer.booking.status] ?? answer.booking.status;
  return layout(
    locale,
    t.doneTitle,
    `<h1>${t.doneTitle}</h1>
<section class="card ok" id="outcome" data-status="${escapeHtml(p.status)}">
<p><strong>${paid ? t.donePaid : t.doneUnpaid}</strong></p>
<dl>
${paid ? `<dt>${t.recorded}</dt><dd id="recorded">${escapeHtml(formatMoney(p.reportedAmount ?? p.amount, p.currency, locale))}</dd>` : ""}
<dt>${t.bookingStatus}</dt><dd id="booking-status">${escapeHtml(status)}</dd>
</dl>
</section>
${p.discrepancy ? `<p class="card warn" id="discrepancy">${t.discrepancy}</p>` : ""}`,
  );
}

/** A friendly page for a link that cannot be used (404, 410), too many tries (429) or a failure. */
export function renderProblem(code: string, locale: PageLocale): string {
  const t = T[locale];
  const [title, text] = t.problems[code] ?? t.problems.ERROR;
  return layout(locale, title, `<h1>${escapeHtml(title)}</h1>\n<section class="card" id="problem" data-code="${escapeHtml(code)}"><p>${escapeHtml(text)}</p></section>`);
}
