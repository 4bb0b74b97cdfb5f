/**
 * The audit trail: every admin action and payment change, with actor, before,
 * after and time. Services record entries as facts (`audit.recorded`); the
 * payments service appends them to its hash-chained, append-only log, which
 * `GET /v1/admin/audit` reads.
 */
import type { ServiceBroker } from "moleculer";
import { publishFact } from "./facts";

export interface AuditEntryV1 {
  entityType: string; // "payment", "kyc", "user", "trust", "flag", ...
  entityId: string;
  action: string; // "kyc.approve", "payment.override", ...
  actor: { id: string; roles?: string[]; kind: "user" | "admin" | "driver" | "system" };
  before: unknown;
  after: unknown;
  reason?: string;
  at: string;
}

/** Publishes one audit entry; `id` makes a retried record land once. */
export async function recordAudit(broker: ServiceBroker, entry: Omit<AuditEntryV1, "at"> & { at?: string }, id?: string) {
  await publishFact(broker, "audit.recorded", { ...entry, at: entry.at ?? new Date().toISOString() }, { id });
}
