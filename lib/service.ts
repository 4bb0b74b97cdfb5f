/**
 * The resources mixin: gives a service its own database, the key-value store
 * and its job queue, chosen by configuration, opened when it starts and closed
 * when it stops, with readiness checks. Services never learn which profile runs.
 */
import type { Service, ServiceSchema } from "moleculer";
import { openDatabase, type Database } from "./store";
import { openKv, type Kv } from "./kv";
import { openQueue, type Queue } from "./queue";
import { registerHealthCheck, unregisterHealthCheck } from "./health";

export interface Resources {
  db: Database;
  kv: Kv;
  queue: Queue;
}

export type WithResources<S = object> = Service & Resources & S;

export function resources(options: { db?: boolean; kv?: boolean; queue?: boolean } = { db: true, kv: true, queue: true }): Partial<ServiceSchema> {
  return {
    async started(this: Service) {
      const self = this as WithResources;
      const name = self.name;
      if (options.db) {
        self.db = await openDatabase(name, (msg) => self.logger.warn(msg));
        registerHealthCheck(`${name}.db`, () => self.db.ping());
      }
      if (options.kv) {
        self.kv = openKv();
        registerHealthCheck(`${name}.kv`, () => self.kv.ping());
      }
      if (options.queue) {
        self.queue = openQueue(name, (msg, err) => self.logger.error(msg, (err as Error)?.message));
        registerHealthCheck(`${name}.queue`, () => self.queue.ping());
      }
    },
    async stopped(this: Service) {
      const self = this as WithResources;
      const name = self.name;
      for (const part of ["db", "kv", "queue"]) unregisterHealthCheck(`${name}.${part}`);
      await self.queue?.close();
      await self.kv?.close();
      await self.db?.close();
    },
  };
}

type Lifecycle<Self> = {
  created?(this: Self): void;
  started?(this: Self): Promise<void>;
  stopped?(this: Self): Promise<void>;
};

/** A service schema whose lifecycle handlers see the service's own typed `this`. */
export function defineService<Self>(schema: Omit<ServiceSchema, "created" | "started" | "stopped"> & Lifecycle<Self>): ServiceSchema {
  return schema as ServiceSchema;
}
