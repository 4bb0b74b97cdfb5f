/**
 * SMS port. `dev` sends nothing: it appends `{to, body, kind, createdAt}` as a
 * JSON line to DATA_DIR/outbox/sms.jsonl and logs it with the phone masked.
 * `http` posts to a generic HTTP SMS gateway (SMS_HTTP_URL, bearer SMS_HTTP_TOKEN).
 */
import fs from "node:fs";
import path from "node:path";
import { config } from "./config";
import { maskPhone } from "./mask";

export interface SmsMessage { to: string; body: string; kind: string }
export interface SmsProvider { readonly name: string; send(message: SmsMessage): Promise<{ providerId?: string }> }

export class DevSmsProvider implements SmsProvider {
  readonly name = "dev";
  constructor(private readonly file: string, private readonly log: (line: string) => void) {}

  async send(message: SmsMessage) {
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    const line = JSON.stringify({ to: message.to, body: message.body, kind: message.kind, createdAt: new Date().toISOString() });
    await fs.promises.appendFile(this.file, line + "\n");
    this.log(`SMS (${message.kind}) to ${maskPhone(message.to)} written to the outbox`);
    return {};
  }
}

export class HttpSmsProvider implements SmsProvider {
  readonly name = "http";
  constructor(private readonly url: string, private readonly token: string | undefined, private readonly sender: string, private readonly timeoutMs: number) {}

  async send(message: SmsMessage) {
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ from: this.sender, to: message.to, text: message.body, kind: message.kind }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new Error(`SMS provider answered ${res.status}`);
    const body = (await res.json().catch(() => ({}))) as { id?: string; messageId?: string };
    return { providerId: body.id ?? body.messageId };
  }
}

export function smsProvider(log: (line: string) => void): SmsProvider {
  const cfg = config();
  if (cfg.sms.provider === "http") return new HttpSmsProvider(cfg.sms.httpUrl!, cfg.sms.httpToken, cfg.sms.sender, cfg.sms.timeoutMs);
  return new DevSmsProvider(path.join(cfg.dataDir, "outbox", "sms.jsonl"), log);
}
