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
