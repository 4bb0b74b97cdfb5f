/**
 * The @moleculer/channels adapter for the distributed profile: its NATS
 * JetStream adapter, made to survive one race. Instances of one service share
 * a durable consumer (the consumer group); when two start at the same moment,
 * both try to create it and the loser gets "consumer name already in use".
 * Subscribing again then binds to the consumer the winner made.
 */
import { Adapters } from "@moleculer/channels";

const NatsAdapter = (Adapters as any).NATS as new (opts: unknown) => {
  subscribe(chan: unknown, svc: unknown): Promise<void>;
  stopChannelActiveMessages(channelId: string): void;
  activeMessages: Map<string, unknown[]>;
  logger: { warn(...a: unknown[]): void };
};
const RACE = /already in use|consumer.*exist/i;

export class RetryingNatsAdapter extends NatsAdapter {
  override async subscribe(chan: { name: string; id: string }, svc: unknown): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await super.subscribe(chan, svc);
      } catch (err) {
        if (attempt >= 8 || !RACE.test(String((err as Error)?.message))) throw err;
        this.logger.warn(`Lost the race to create the consumer of '${chan.name}'; subscribing again (${attempt})`);
        // The failed attempt already registered the channel's message tracking; a new attempt registers it again.
        if (this.activeMessages.has(chan.id)) this.stopChannelActiveMessages(chan.id);
        await new Promise((r) => setTimeout(r, 50 * attempt + Math.random() * 100));
      }
    }
  }
}
