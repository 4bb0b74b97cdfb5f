/**
 * Message texts, in Korean and English, chosen by the recipient's locale.
 * A template has a body (SMS, in-app, push) and, for in-app and push, a title.
 * Money arrives as an integer in the smallest unit with its currency; times as
 * ISO strings, shown in the display time zone (DISPLAY_TIMEZONE).
 */
import { config } from "../../lib/config";

export type Locale = "ko" | "en";
export type TemplateParams = Record<string, string | number>;
type Text = (p: TemplateParams, locale: Locale) => string;
interface Template { title?: Record<Locale, Text>; body: Record<Locale, Text> }

const INTL: Record<Locale, string> = { ko: "ko-KR", en: "en-US" };

/** 55000 KRW -> "₩55,000"; 1250 USD -> "$12.50". */
export function money(amount: string | number | undefined, currency: string | number | undefined, locale: Locale): string {
  const code = String(currency ?? "KRW");
  try {
    const f = new Intl.NumberFormat(INTL[locale], { style: "currency", currency: code });
    const digits = f.resolvedOptions().maximumFractionDigits ?? 0;
    return f.format(Number(amount ?? 0) / 10 ** digits);
  } catch {
    return `${amount} ${code}`;
  }
}

/** "12월 1일 (화) 오전 9:00" / "Tue, Dec 1, 9:00 AM" in the display time zone. */
export function when(iso: string | number | undefined, locale: Locale): string {
  const d = new Date(String(iso ?? ""));
  if (Number.isNaN(d.getTime())) return "";
  return new Intl.DateTimeFormat(INTL[locale], { timeZone: config().displayTimezone, month: "short", day: "numeric", weekday: "short", hour: "numeric", minute: "2-digit" }).format(d);
}

const range = (p: TemplateParams, l: Locale) => (p.start ? `${when(p.start, l)} – ${when(p.end, l)}` : "");
const withReason = (p: TemplateParams, l: Locale) => (p.reason ? (l === "ko" ? ` 사유: ${p.reason}` : ` Reason: ${p.reason}`) : "");

const TEMPLATES: Record<string, Template> = {
  otp: {
    body: {
      ko: (p) => `[carshare] 인증번호 ${p.code} (${p.minutes}분 안에 입력해 주세요)`,
      en: (p) => `[carshare] Your code is ${p.code}. It expires in ${p.minutes} minutes.`,
    },
  },
  driver_link: {
    body: {
      ko: (p, l) => `[carshare] ${p.vehicle} 예약(${range(p, l)}) 결제 확인: 받으신 금액 ${money(p.amount, p.currency, l)}을 아래 링크에서 알려 주세요 (${p.hours}시간 유효, 1회용) ${p.url}`,
      en: (p, l) => `[carshare] Booking of ${p.vehicle} (${range(p, l)}): please confirm the ${money(p.amount, p.currency, l)} payment at this link (valid ${p.hours} h, single use) ${p.url}`,
    },
  },
  booking_requested: {
    title: { ko: () => "새 예약 요청", en: () => "New booking request" },
    body: {
      ko: (p, l) => `${range(p, l)} 예약 요청이 도착했습니다 (${money(p.amount, p.currency, l)}). 수락 또는 거절해 주세요.`,
      en: (p, l) => `A booking request for ${range(p, l)} arrived (${money(p.amount, p.currency, l)}). Please accept or decline it.`,
    },
  },
  booking_accepted: {
    title: { ko: () => "예약이 수락되었습니다", en: () => "Booking accepted" },
    body: {
      ko: (p, l) => `${range(p, l)} 예약을 차주가 수락했습니다. 결제가 확인되면 예약이 확정됩니다.`,
      en: (p, l) => `The owner accepted your booking for ${range(p, l)}. It is confirmed once the payment is.`,
    },
  },
  booking_declined: {
    title: { ko: () => "예약이 거절되었습니다", en: () => "Booking declined" },
    body: {
      ko: (p, l) => `${range(p, l)} 예약 요청이 거절되었습니다.${withReason(p, l)}`,
      en: (p, l) => `Your booking request for ${range(p, l)} was declined.${withReason(p, l)}`,
    },
  },
  booking_cancelled: {
    title: { ko: () => "예약이 취소되었습니다", en: () => "Booking cancelled" },
    body: {
      ko: (p, l) => `${range(p, l)} 예약이 취소되었습니다.${withReason(p, l)}`,
      en: (p, l) => `The booking for ${range(p, l)} was cancelled.${withReason(p, l)}`,
    },
  },
  booking_expired: {
    title: { ko: () => "예약 요청이 만료되었습니다", en: () => "Booking request expired" },
    body: {
      ko: (p, l) => `${range(p, l)} 예약 요청에 응답이 없어 만료되었습니다.`,
      en: (p, l) => `The booking request for ${range(p, l)} expired without an answer.`,
    },
  },
  booking_confirmed: {
    title: { ko: () => "예약이 확정되었습니다", en: () => "Booking confirmed" },
    body: {
      ko: (p, l) => `결제가 확인되어 ${range(p, l)} 예약이 확정되었습니다.`,
      en: (p, l) => `The payment is confirmed: the booking for ${range(p, l)} is confirmed.`,
    },
  },
  booking_started: {
    title: { ko: () => "이용이 시작되었습니다", en: () => "Trip started" },
    body: {
      ko: (p, l) => `${range(p, l)} 예약의 차량 인수가 완료되었습니다.`,
      en: (p, l) => `The vehicle of the booking for ${range(p, l)} was picked up.`,
    },
  },
  booking_completed: {
    title: { ko: () => "이용이 완료되었습니다", en: () => "Trip completed" },
    body: {
      ko: (p, l) => `${range(p, l)} 예약이 완료되었습니다. 평가를 남겨 주세요.`,
      en: (p, l) => `The booking for ${range(p, l)} is complete. Please leave a rating.`,
    },
  },
  payment_created: {
    title: { ko: () => "결제 안내", en: () => "Payment due" },
    body: {
      ko: (p, l) => (p.source === "driver_link" ? `결제 금액 ${money(p.amount, p.currency, l)}은 차량 인수 시 기사님께 지불해 주세요.` : `결제 금액 ${money(p.amount, p.currency, l)}을 앱에서 결제해 주세요.`),
      en: (p, l) => (p.source === "driver_link" ? `Please pay ${money(p.amount, p.currency, l)} to the driver at pickup.` : `Please pay ${money(p.amount, p.currency, l)} in the app.`),
    },
  },
  payment_paid: {
    title: { ko: () => "결제가 확인되었습니다", en: () => "Payment received" },
    body: {
      ko: (p, l) => `${money(p.paidAmount ?? p.amount, p.currency, l)} 결제가 확인되었습니다.`,
      en: (p, l) => `A payment of ${money(p.paidAmount ?? p.amount, p.currency, l)} was confirmed.`,
    },
  },
  payment_unpaid_reported: {
    title: { ko: () => "미결제 신고", en: () => "Payment not received" },
    body: {
      ko: (p, l) => `기사님이 ${money(p.amount, p.currency, l)} 결제를 받지 못했다고 알려 왔습니다. 임차인과 확인해 주세요.`,
      en: (p, l) => `The driver reported that the ${money(p.amount, p.currency, l)} payment was not received. Please check with the renter.`,
    },
  },
  payment_discrepancy: {
    title: { ko: () => "결제 금액 불일치", en: () => "Payment amount differs" },
    body: {
      ko: (p, l) => `받은 금액 ${money(p.reportedAmount, p.currency, l)}이 예정 금액 ${money(p.expectedAmount, p.currency, l)}과 다릅니다.`,
      en: (p, l) => `The amount received, ${money(p.reportedAmount, p.currency, l)}, differs from the expected ${money(p.expectedAmount, p.currency, l)}.`,
    },
  },
  payment_refunded: {
    title: { ko: () => "환불되었습니다", en: () => "Payment refunded" },
    body: {
      ko: (p, l) => `${money(p.amount, p.currency, l)}이 환불 처리되었습니다.`,
      en: (p, l) => `${money(p.amount, p.currency, l)} was refunded.`,
    },
  },
};

export function render(template: string, locale: Locale, params: TemplateParams): string {
  const t = TEMPLATES[template];
  if (!t) throw new Error(`Unknown template "${template}"`);
  return t.body[locale](params, locale);
}

export function renderTitle(template: string, locale: Locale, params: TemplateParams): string {
  return TEMPLATES[template]?.title?.[locale](params, locale) ?? "carshare";
}

export function hasTemplate(template: string): boolean {
  return template in TEMPLATES;
}
