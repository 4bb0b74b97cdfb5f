/**
 * Test rig: a whole carshare system (or some of its services) in this process,
 * the gateway on a free port, data in a fresh temp folder, and a small HTTP
 * client that speaks to it as an API user would.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker, ServiceSchema } from "moleculer";
import { loadConfig, setConfig, type Config } from "../../lib/config";
import { createBroker } from "../../lib/system";

export interface Answer<T = any> { status: number; body: T; headers: Headers; text: string }

export class Client {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, urlPath: string, options: { body?: unknown; token?: string; headers?: Record<string, string>; raw?: string | Buffer | FormData } = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: any = options.raw;
    if (options.body !== undefined) {
      headers["content-type"] ??= "application/json";
      body = JSON.stringify(options.body);
    }
    const res = await fetch(this.baseUrl + urlPath, { method, headers, body });
    const text = await res.text();
    let parsed: any = text;
    if ((res.headers.get("content-type") ?? "").includes("json") && text) parsed = JSON.parse(text);
    return { status: res.status, body: parsed, headers: res.headers, text };
  }

  get<T = any>(p: string, token?: string) {
    return this.request<T>("GET", p, { token });
  }
  post<T = any>(p: string, body?: unknown, token?: string, headers?: Record<string, string>) {
    return this.request<T>("POST", p, { body: body ?? {}, token, headers });
  }
  patch<T = any>(p: string, body: unknown, token?: string) {
    return this.request<T>("PATCH", p, { body, token });
  }
  put<T = any>(p: string, body: unknown, token?: string) {
    return this.request<T>("PUT", p, { body, token });
  }
  delete<T = any>(p: string, token?: string) {
    return this.request<T>("DELETE", p, { token });
  }
}

export interface TestSystem {
  cfg: Config;
  broker: ServiceBroker;
  dataDir: string;
  url: string;
  api: Client;
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export function tempDir(prefix = "carshare-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Starts a system; `env` overrides the environment it is configured from.
 * `extraServices` (fakes of peers not under test) join the broker before it starts.
 */
export async function startSystem(env: Record<string, string> = {}, options: { extraServices?: ServiceSchema[] } = {}): Promise<TestSystem> {
  const dataDir = env.DATA_DIR ?? tempDir();
  const cfg = setConfig(loadConfig({ PORT: "0", LOG_LEVEL: "warn", RATE_LIMIT_PER_MINUTE: "0", DATA_DIR: dataDir, ...env }));
  const broker = createBroker(cfg, { logger: env.LOG_LEVEL ? undefined : false });
  for (const schema of options.extraServices ?? []) broker.createService(schema);
  await broker.start();
  const url = gatewayUrl(broker);
  return {
    cfg,
    broker,
    dataDir,
    url,
    api: new Client(url),
    async stop(options = {}) {
      await broker.stop();
      if (!options.keepData && !env.DATA_DIR) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function gatewayUrl(broker: ServiceBroker): string {
  const api = broker.getLocalService("api") as any;
  if (!api?.server) return "";
  const address = api.server.address();
  return `http://127.0.0.1:${address.port}`;
}

/** The SMS messages the development provider wrote, newest last. */
export function outbox(dataDir: string): { to: string; body: string; kind: string; createdAt: string }[] {
  const file = path.join(dataDir, "outbox", "sms.jsonl");
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

export async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The newest OTP code sent to `phone`, once it is in the outbox. */
export async function otpFor(dataDir: string, phone: string, after = 0): Promise<string> {
  const msg = await waitFor(
    () => outbox(dataDir).filter((m) => m.to === phone && m.kind === "otp" && Date.parse(m.createdAt) >= after).pop(),
    `an OTP SMS to ${phone}`,
  );
  return /(\d{6})/.exec(msg.body)![1];
}

export interface Session { accessToken: string; refreshToken: string; user: { id: string; roles: string[]; [k: string]: unknown } }

let phoneSeq = 0;
/** A fresh, unique Korean mobile number. */
export function newPhone(): string {
  phoneSeq++;
  return `+8210${String((process.pid * 7919 + phoneSeq * 104729 + Date.now()) % 100_000_000).padStart(8, "0")}`;
}

/** Logs in by phone OTP through the API, as a user would. */
export async function loginByOtp(sys: { api: Client; dataDir: string }, phone = newPhone()): Promise<Session & { phone: string }> {
  const since = Date.now() - 1;
  const req = await sys.api.post("/v1/auth/otp/request", { phone });
  if (req.status !== 202) throw new Error(`OTP request failed: ${req.status} ${req.text}`);
  const code = await otpFor(sys.dataDir, phone, since);
  const res = await sys.api.post("/v1/auth/otp/verify", { phone, code });
  if (res.status !== 200) throw new Error(`OTP verify failed: ${res.status} ${res.text}`);
  return { ...res.body, phone };
}
