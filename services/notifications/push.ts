/**
 * Push port. `dev` sends nothing: it appends `{to, platform, title, body, data,
 * kind, createdAt}` as a JSON line to DATA_DIR/outbox/push.jsonl. An FCM
 * adapter (PUSH_PROVIDER=fcm) comes with the mobile apps.
 */
import fs from "node:fs";
import path from "node:path";
import { config } from "../../lib/config";

export interface PushMessage { token: string; platform: "ios" | "android" | "web"; title: string; body: string; data?: Record<string, string>; kind: string }
export interface PushProvider { readonly name: string; send(message: PushMessage): Promise<{ providerId?: string }> }

export class DevPushProvider implements PushProvider {
  readonly name = "dev";
  constructor(private readonly file: string, private readonly log: (line: string) => void) {}

  async send(m: PushMessage) {
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    const line = JSON.stringify({ to: m.token, platform: m.platform, title: m.title, body: m.body, data: m.data ?? {}, kind: m.kind, createdAt: new Date().toISOString() });
    await fs.promises.appendFile(this.file, line + "\n");
    this.log(`push (${m.kind}) to a ${m.platform} device written to the outbox`);
    return {};
  }
}

export function pushProvider(log: (line: string) => void): PushProvider {
  const cfg = config();
  switch (cfg.push.provider) {
    case "dev":
      return new DevPushProvider(path.join(cfg.dataDir, "outbox", "push.jsonl"), log);
  }
}
