/**
 * Broker options, built from the typed configuration. The embedded profile has
 * no transporter (every service in one process); the distributed one talks
 * over NATS. Durable facts use @moleculer/channels: NATS JetStream, or its
 * in-process Fake adapter.
 */
import type { BrokerOptions, LoggerConfig } from "moleculer";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import type { Config } from "./lib/config";
import { prometheus } from "./lib/metrics";
import { RetryingNatsAdapter } from "./lib/channels";
import { maskPhone } from "./lib/mask";

const PHONE = /\+[1-9]\d{6,14}/g;
/** Driver-link tokens travel in URL paths; they are secrets. */
const LINK_TOKEN = /(\/d\/|\/driver-links\/)[A-Za-z0-9_-]{16,}/g;

/** Masks any E.164 phone number that reaches a log line. */
function maskingLogger(level: string): LoggerConfig {
  return {
    type: "Console",
    options: {
      level,
      colors: Boolean(process.stdout.isTTY),
      moduleColors: false,
      formatter: (type: string, args: unknown[], bindings: Record<string, unknown>) => {
        const text = args
          .map((a) => (a instanceof Error ? a.stack ?? a.message : typeof a === "object" ? safeJson(a) : String(a)))
          .join(" ")
          .replace(PHONE, (p) => maskPhone(p))
          .replace(LINK_TOKEN, "$1***");
        return [`[${new Date().toISOString()}] ${type.toUpperCase().padEnd(5)} ${bindings.nodeID}/${String(bindings.mod).toUpperCase()}: ${text}`];
      },
    },
  } as unknown as LoggerConfig;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

export function brokerOptions(cfg: Config, overrides: Partial<BrokerOptions> = {}): BrokerOptions {
  const channelsAdapter = cfg.transporter
    ? new RetryingNatsAdapter({
        nats: { url: cfg.transporter, connectionOptions: { maxReconnectAttempts: -1, reconnectTimeWait: 500 } },
        maxRetries: 5,
        maxInFlight: 20,
        deadLettering: { enabled: true, queueName: "DEAD_LETTER" },
      })
    : { type: "Fake" };
  return {
    namespace: cfg.namespace,
    nodeID: cfg.nodeId,
    transporter: cfg.transporter
      ? { type: "NATS", options: { url: cfg.transporter, maxReconnectAttempts: -1, reconnectTimeWait: 500 } }
      : undefined,
    serializer: "JSON",
    logger: maskingLogger(cfg.logLevel),
    logLevel: cfg.logLevel as any,
    requestTimeout: 10_000,
    // Callers retry only what is safe to retry: every action a saga calls is idempotent.
    retryPolicy: { enabled: false },
    registry: { strategy: "RoundRobin", preferLocal: true },
    circuitBreaker: { enabled: true, threshold: 0.5, minRequestCount: 20, windowTime: 60, halfOpenTime: 10_000 },
    heartbeatInterval: 5,
    heartbeatTimeout: 15,
    tracking: { enabled: true, shutdownTimeout: cfg.shutdownTimeoutMs },
    // Signals are stopOnSignals' (lib/system.ts): Moleculer's own handlers would stop the broker a second
    // time in parallel (the channels adapter then drains NATS twice: CONNECTION_DRAINING) and exit early.
    skipProcessEventRegistration: true,
    metrics: { enabled: true, reporter: [prometheus as any] },
    validator: true,
    errorRegenerator: undefined,
    middlewares: [ChannelsMiddleware({ adapter: channelsAdapter, context: false } as any) as any],
    ...overrides,
  };
}
