/** Readiness checks of the dependencies this process uses, registered by services as they start. */
type Check = () => Promise<void>;
const checks = new Map<string, Check>();

export function registerHealthCheck(name: string, check: Check): void {
  checks.set(name, check);
}

export function unregisterHealthCheck(name: string): void {
  checks.delete(name);
}

export async function runHealthChecks(timeoutMs = 2000): Promise<{ ok: boolean; checks: Record<string, "ok" | string> }> {
  const results: Record<string, "ok" | string> = {};
  await Promise.all(
    [...checks].map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([check(), new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("timed out")), timeoutMs); })]);
        results[name] = "ok";
      } catch (err) {
        results[name] = String((err as Error)?.message ?? err);
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ok: Object.values(results).every((r) => r === "ok"), checks: results };
}

/**
 * Whether this broker's transporter is connected: "ok" or "disconnected" (no transporter: "ok").
 * Moleculer's NATS transporter never clears `transit.connected` when a nats.js v2 connection drops
 * (it only watches for the connection closing, and the client reconnects forever), so the client
 * itself is asked: `rtt()` fails at once while it is disconnected, and is a PING/PONG otherwise.
 */
export async function transporterState(broker: unknown, timeoutMs = 1000): Promise<"ok" | "disconnected"> {
  const transit = (broker as { transit?: { connected: boolean; tx?: { client?: { rtt?: () => Promise<number> } } } }).transit;
  if (!transit) return "ok";
  if (!transit.connected) return "disconnected";
  const client = transit.tx?.client;
  if (typeof client?.rtt !== "function") return "ok";
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([client.rtt(), new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("timed out")), timeoutMs); })]);
    return "ok";
  } catch {
    return "disconnected";
  } finally {
    clearTimeout(timer);
  }
}
