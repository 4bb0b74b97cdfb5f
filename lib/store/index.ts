/** The one place that picks the store adapter from the configuration. */
import path from "node:path";
import { config } from "../config";
import { MongoDatabase } from "./mongo";
import { NedbDatabase } from "./nedb";
import type { Database } from "./types";

export * from "./types";

export async function openDatabase(service: string, log: (msg: string) => void = () => undefined): Promise<Database> {
  const cfg = config();
  if (cfg.mongoUrl) return MongoDatabase.connect(cfg.mongoUrl, `${cfg.namespace}_${service}`.replace(/[^A-Za-z0-9_]/g, "_"), log);
  return new NedbDatabase(path.join(cfg.dataDir, service));
}
