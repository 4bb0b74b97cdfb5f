/**
 * Publishing and consuming facts through @moleculer/channels.
 *
 * Publish: `publishFact(broker, "booking.accepted", data)`; the JetStream
 * stream of the channel is created on first use, so a fact published before
 * any consumer started is kept, not refused.
 *
 * Consume: in a service schema, `channels: { "booking.accepted": onFact(handler) }`.
 * The wrapper drops a fact this service already handled (by fact id, recorded
 * in the service's own database after the handler succeeds) and, with the
 * in-process Fake adapter, retries a failing handler with backoff, as
 * JetStream redelivery does in the distributed profile.
 */
import type { ServiceBroker, Service } from "moleculer";
import { config } from "./config";
import { newId } from "./ids";
import type { Fact, FactType } from "./events";
import type { Collection, Database } from "./store";
import { DuplicateKeyError } from "./errors";

const ensured = new WeakMap<object, Map<string, Promise<unknown>>>();

function ensureStream(broker: ServiceBroker, subject: string): Promise<unknown> {
  const adapter = (broker as any).channelAdapter;
  if (!adapter || typeof adapter.createStream !== "function" || !adapter.manager) return Promise.resolve();
  let byAdapter = ensured.get(adapter);
  if (!byAdapter) ensured.set(adapter, (byAdapter = new Map()));
  const known = byAdapter.get(subject);
  if (known) return known;
  const created: Promise<unknown> = adapter.createStream(subject.split(".").join("_"), [subject], {});
  byAdapter.set(subject, created);
  created.catch(() => byAdapter!.delete(subject));
  return created;
}

export function makeFact<T>(type: FactType, data: T, version = 1, id = newId()): Fact<T> {
  return { id, type, version, occurredAt: new Date().toISOString(), data };
}

export async function publishFact<T>(broker: ServiceBroker, type: FactType, data: T, options: { version?: number; id?: string } = {}): Promise<Fact<T>> {
  const fact = makeFact(type, data, options.version, options.id);
  await sendFact(broker, fact);
  return fact;
}

export async function sendFact(broker: ServiceBroker, fact: Fact<unknown>): Promise<void> {
  const adapter = (broker as any).channelAdapter;
  await ensureStream(broker, adapter?.addPrefixTopic ? adapter.addPrefixTopic(fact.type) : fact.type);
  await (broker as any).sendToChannel(fact.type, fact);
}

interface Processed { _id: string; type: string; at: string }

export interface FactHandlerOptions {
  /** Deliveries before the fact goes to the dead-letter stream. Default 5. */
  maxRetries?: number;
}

/** `S` is the consuming service's own type, so handlers can be `function (this: Self, fact)`. */
type Handler<T, S> = (this: S, fact: Fact<T>) => Promise<void>;

export function onFact<T = any, S = any>(handler: Handler<T, S>, options: FactHandlerOptions = {}) {
  const maxRetries = options.maxRetries ?? 5;
  return {
    maxRetries,
    deadLettering: { enabled: true, queueName: "DEAD_LETTER" },
    async handler(this: Service & { db: Database }, fact: Fact<T>) {
      if (!fact || typeof fact.id !== "string") {
        this.logger.warn("Dropping a message that is not a fact");
        return;
      }
      const processed: Collection<Processed> = this.db.collection<Processed>("processed_facts");
      if (await processed.findById(fact.id)) return;
      for (let attempt = 1; ; attempt++) {
        try {
          await handler.call(this as unknown as S, fact);
          break;
        } catch (err) {
          // Read at delivery, not when the schema is built (that runs at import, before setConfig).
          if (config().transporter || attempt >= maxRetries) {
            this.logger.warn(`Handling ${fact.type} ${fact.id} failed (try ${attempt}):`, (err as Error)?.message);
            throw err;
          }
          await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
        }
      }
      try {
        await processed.insert({ _id: fact.id, type: fact.type, at: new Date().toISOString() });
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
      }
    },
  };
}
