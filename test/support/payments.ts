/**
 * Test helpers for payments, driver links and notifications: fakes of the
 * peers they call (vehicles.driverContact, bookings.confirmPayment), a spy on
 * the facts they publish, and a booking-with-a-driver-link set-up done the
 * way the bookings saga does it.
 */
import type { ServiceBroker, ServiceSchema } from "moleculer";
import type { IssueDriverLinkCommand, PaymentView } from "../../lib/contracts";
import { AppError } from "../../lib/errors";
import type { Fact } from "../../lib/events";
import { newId } from "../../lib/ids";
import { newPhone, outbox, waitFor } from "./system";

export interface PeerState {
  /** Owner of every driver the fake vehicles service knows. */
  ownerId: string;
  /** driverId -> phone */
  drivers: Map<string, string>;
  /** When true, bookings.confirmPayment answers 503. */
  bookingsDown: boolean;
  confirmed: { bookingId: string; paymentId: string }[];
  facts: Fact<any>[];
}

export function peerState(ownerId = "owner-unknown"): PeerState {
  return { ownerId, drivers: new Map(), bookingsDown: false, confirmed: [], facts: [] };
}

const SPIED = ["payment.created", "payment.paid", "payment.unpaid_reported", "payment.discrepancy", "payment.refunded", "driverlink.issued", "driverlink.used"];

/** Fakes of vehicles and bookings, and a fact spy; `only` picks some of them. */
export function peerFakes(state: PeerState, only: ("vehicles" | "bookings" | "spy")[] = ["vehicles", "bookings", "spy"]): ServiceSchema[] {
  const vehicles: ServiceSchema = {
    name: "vehicles",
    actions: {
      driverContact: {
        visibility: "public",
        handler(ctx: any) {
          const phone = state.drivers.get(ctx.params.driverId);
          if (!phone) throw new AppError("NOT_FOUND", "The driver was not found");
          return { id: ctx.params.driverId, ownerId: state.ownerId, name: "Driver Kim", phone };
        },
      },
    },
  };
  const bookings: ServiceSchema = {
    name: "bookings",
    actions: {
      confirmPayment: {
        visibility: "public",
        handler(ctx: any) {
          if (state.bookingsDown) throw new AppError("SERVICE_UNAVAILABLE", "bookings is down (test)");
          state.confirmed.push({ bookingId: ctx.params.bookingId, paymentId: ctx.params.paymentId });
          return { id: ctx.params.bookingId, status: "confirmed", paymentId: ctx.params.paymentId };
        },
      },
    },
  };
  const spy: ServiceSchema = {
    name: "factSpy",
    channels: Object.fromEntries(
      SPIED.map((type) => [
        type,
        {
          handler(fact: Fact<any>) {
            if (!state.facts.some((f) => f.id === fact.id)) state.facts.push(fact);
          },
        },
      ]),
    ),
  } as ServiceSchema;
  const all = { vehicles, bookings, spy };
  return only.map((n) => all[n]);
}

export interface LinkedBooking {
  bookingId: string;
  payment: PaymentView;
  driverId: string;
  driverPhone: string;
  linkId: string;
  token: string;
  sms: { to: string; body: string };
}

export const VEHICLE = { id: "veh-1", make: "Hyundai", model: "Avante", licensePlate: "12가3456" };

/** What the bookings saga does on acceptance: a pending payment, then a driver link sent by SMS. */
export async function linkedBooking(
  broker: ServiceBroker,
  dataDir: string,
  state: PeerState,
  opts: { renterId: string; ownerId: string; amount?: number; currency?: string; vehicle?: IssueDriverLinkCommand["booking"]["vehicle"] },
): Promise<LinkedBooking> {
  const amount = opts.amount ?? 55_000;
  const platformFee = Math.floor((amount * 1500 + 5000) / 10000);
  const bookingId = `bk-${newId()}`;
  const driverId = `drv-${newId()}`;
  const driverPhone = newPhone();
  state.drivers.set(driverId, driverPhone);
  state.ownerId = opts.ownerId;
  const payment = await broker.call<PaymentView, object>("payments.createForBooking", {
    bookingId,
    renterId: opts.renterId,
    ownerId: opts.ownerId,
    driverId,
    amount,
    platformFee,
    hostAmount: amount - platformFee,
    currency: opts.currency ?? "KRW",
    source: "driver_link",
  });
  const start = new Date(Date.now() + 86_400_000).toISOString();
  const end = new Date(Date.now() + 86_400_000 + 3 * 3_600_000).toISOString();
  const { linkId } = await broker.call<{ linkId: string }, IssueDriverLinkCommand>("driverLinks.issue", {
    bookingId,
    paymentId: payment.id,
    driverId,
    issueKey: `accept:${bookingId}`,
    booking: { vehicle: opts.vehicle ?? VEHICLE, start, end, expectedAmount: amount, currency: opts.currency ?? "KRW" },
  });
  const sms = await waitFor(() => outbox(dataDir).find((m) => m.to === driverPhone && m.kind === "driver_link"), `the driver-link SMS to ${driverPhone}`);
  const token = /\/d\/([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])/.exec(sms.body)?.[1];
  if (!token) throw new Error(`No link in the SMS: ${sms.body}`);
  return { bookingId, payment, driverId, driverPhone, linkId, token, sms };
}

/** Facts of one type the spy saw, waiting until at least `n` arrived. */
export function factsOf(state: PeerState, type: string, n = 1, match: (f: Fact<any>) => boolean = () => true): Promise<Fact<any>[]> {
  return waitFor(() => {
    const found = state.facts.filter((f) => f.type === type && match(f));
    return found.length >= n ? found : undefined;
  }, `${n} ${type} fact(s)`);
}
