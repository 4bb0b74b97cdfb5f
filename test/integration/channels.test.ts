/**
 * Instances of one service starting at the same moment all subscribe to their
 * shared JetStream consumer (lib/channels.ts retries the loser of the creation
 * race), and a fact is then handled once per service, not once per instance.
 */
import { ServiceBroker } from "moleculer";
import { loadConfig, setConfig } from "../../lib/config";
import { brokerOptions } from "../../moleculer.config";
import { onFact, publishFact } from "../../lib/facts";
import { resources } from "../../lib/service";
import { waitFor, tempDir } from "../support/system";
import { cleanupNamespace, distributedEnv, testNamespace } from "../support/distributed";

test("when four instances of a consumer start at once, then all start and each fact is handled once", async () => {
  for (let round = 0; round < 3; round++) {
    const ns = testNamespace(`chan${round}`);
    const cfg = setConfig(loadConfig({ ...distributedEnv(ns, tempDir()), SERVICES: "auth" }));
    const handled: string[] = [];
    const brokers = Array.from({ length: 4 }, (_, i) => {
      const b = new ServiceBroker(brokerOptions(cfg, { nodeID: `${ns}-consumer-${i}`, logger: false }));
      b.createService({
        name: "counter",
        mixins: [resources({ db: true })],
        channels: { "booking.completed": onFact(async (fact) => void handled.push(fact.id)) },
      } as any);
      return b;
    });
    const publisher = new ServiceBroker(brokerOptions(cfg, { nodeID: `${ns}-publisher`, logger: false }));
    try {
      await Promise.all([...brokers, publisher].map((b) => b.start()));
      const facts = await Promise.all(Array.from({ length: 5 }, (_, i) => publishFact(publisher, "booking.completed", { bookingId: `b${i}` })));
      await waitFor(() => handled.length >= facts.length, "every fact to be handled");
      await new Promise((r) => setTimeout(r, 500));
      expect(handled.sort()).toEqual(facts.map((f) => f.id).sort());
    } finally {
      await Promise.all([...brokers, publisher].map((b) => b.stop()));
      await cleanupNamespace(ns);
    }
  }
}, 120_000);
