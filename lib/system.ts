/**
 * Builds a broker with the services this process runs (SERVICES, or all),
 * in the profile the configuration selects.
 */
import { ServiceBroker, type BrokerOptions, type ServiceSchema } from "moleculer";
import { brokerOptions } from "../moleculer.config";
import type { Config } from "./config";
import createGateway from "../gateway/api.service";
import AuthService from "../services/auth/auth.service";
import NotificationsService from "../services/notifications/notifications.service";
import PaymentsService from "../services/payments/payments.service";
import DriverLinksService from "../services/driver-links/driver-links.service";
import BookingsService from "../services/bookings/bookings.service";
import KycService from "../services/kyc/kyc.service";
import VehiclesService from "../services/vehicles/vehicles.service";
import TrustService from "../services/trust/trust.service";

export const SERVICE_FACTORIES: Record<string, () => ServiceSchema> = {
  gateway: createGateway,
  auth: () => AuthService,
  notifications: () => NotificationsService,
  payments: () => PaymentsService,
  "driver-links": () => DriverLinksService,
  bookings: () => BookingsService,
  kyc: () => KycService,
  vehicles: () => VehiclesService,
  trust: () => TrustService,
};

export function createBroker(cfg: Config, overrides: Partial<BrokerOptions> = {}): ServiceBroker {
  const broker = new ServiceBroker(brokerOptions(cfg, overrides));
  for (const name of cfg.services) {
    const factory = SERVICE_FACTORIES[name];
    if (!factory) throw new Error(`Unknown service "${name}"`);
    broker.createService(factory());
  }
  return broker;
}

/** Stops on SIGTERM/SIGINT: stop taking requests, finish in-flight work, leave the transporter. */
export function stopOnSignals(broker: ServiceBroker, timeoutMs: number): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    broker.logger.info(`${signal} received, stopping gracefully`);
    const force = setTimeout(() => {
      broker.logger.error("Graceful stop timed out; exiting");
      process.exit(1);
    }, timeoutMs + 5000);
    force.unref();
    broker.stop().then(
      () => process.exit(0),
      (err) => {
        broker.logger.error("Stop failed", err);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
