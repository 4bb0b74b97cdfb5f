/**
 * Every REST route of the API: "METHOD /v1/path" -> "service.action".
 * One file per area; the action lives in services/<service>/<service>.service.ts.
 */
import auth from "./auth";
import bookings from "./bookings";
import kyc from "./kyc";
import payments from "./payments";
import adminPayments from "./admin-payments";
import driverLinks from "./driver-links";
import notifications from "./notifications";
import vehicles from "./vehicles";
import trust from "./trust";
import admin from "./admin";

export const ROUTES: Record<string, string> = {
  ...auth,
  ...bookings,
  ...kyc,
  ...payments,
  ...adminPayments,
  ...driverLinks,
  ...notifications,
  ...vehicles,
  ...trust,
  ...admin,
};
