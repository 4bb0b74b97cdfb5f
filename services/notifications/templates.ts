/** Message texts, in Korean and English, chosen by the recipient's locale. */
export type Locale = "ko" | "en";

const TEMPLATES: Record<string, Record<Locale, (p: Record<string, string | number>) => string>> = {
  otp: {
    ko: (p) => `[carshare] 인증번호 ${p.code} (${p.minutes}분 안에 입력해 주세요)`,
    en: (p) => `[carshare] Your code is ${p.code}. It expires in ${p.minutes} minutes.`,
  },
};

export function render(template: string, locale: Locale, params: Record<string, string | number>): string {
  const t = TEMPLATES[template];
  if (!t) throw new Error(`Unknown template "${template}"`);
  return t[locale](params);
}

export function hasTemplate(template: string): boolean {
  return template in TEMPLATES;
}
