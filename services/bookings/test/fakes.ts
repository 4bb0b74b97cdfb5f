/**
 * Fakes of the bookings service's peers for its tests (STYLE.md: "the service
 * under test plus fakes of its peers"): vehicles, payments, driverLinks and
 * notifications, idempotent as lib/contracts.ts requires, recording every
 * call, and able to fail on demand. Plus a spy on the booking facts.
 */
import type { ServiceSchema, ServiceBroker } from "moleculer";
import type { DriverContact, IssueDriverLinkCommand, CreatePaymentCommand, PaymentView, VehicleView } from "../../../lib/contracts";
import { AppError, notFound } from "../../../lib/errors";
import type { Fact } from "../../../lib/events";
import { newId } from "../../../lib/ids";
import { smsProvider } from "../../../lib/sms";
import type { Client, Session, TestSystem } from "../../../test/support/system";
import { loginByOtp, startSystem } from "../../../test/support/system";

export interface Call { action: string; params: any; at: number }

export class World {
  vehicles = new Map<string, VehicleView>();
  drivers = new Map<string, DriverContact>();
  payments = new Map<string, PaymentView>(); // by bookingId
  links = new Map<string, { linkId: string; expiresAt: string; revoked: boolean }>(); // by bookingId:issueKey
  inApp = new Map<string, any>(); // by key
  calls: Call[] = [];
  facts: Fact<any>[] = [];
  /** action -> how many more calls fail ("always" keeps failing). */
  failures = new Map<string, number | "always">();

  called(action: string) {
    return this.calls.filter((c) => c.action === action);
  }

  fact(type: string, bookingId: string) {
    return this.facts.filter((f) => f.type === type && f.data?.bookingId === bookingId);
  }

  /** Throws when the action is set to fail. */
  maybeFail(action: string) {
    const left = this.failures.get(action);
    if (left === undefined) return;
    if (left !== "always") {
      if (left <= 1) this.failures.delete(action);
      else this.failures.set(action, left - 1);
    }
    throw new AppError("SERVICE_UNAVAILABLE", `${action} is down (fake)`);
  }

  /** Actions whose next call is taken and left unanswered until `releaseHung()`. */
  hangs = new Set<string>();
  private hung: (() => void)[] = [];

  releaseHung() {
    for (const r of this.hung.splice(0)) r();
  }

  async record(action: string, params: unknown) {
    this.calls.push({ action, params: structuredClone(params), at: Date.now() });
    if (this.hangs.delete(action)) await new Promise<void>((r) => this.hung.push(r));
    this.maybeFail(action);
  }

  addVehicle(ownerId: string, overrides: Partial<VehicleView> = {}): VehicleView {
    const v: VehicleView = {
      id: newId(),
      ownerId,
      driverId: null,
      status: "active",
      licensePlate: "12가3456",
      make: "Hyundai",
      model: "Avante",
      year: 2023,
      hourlyRate: 10_000,
      currency: "KRW",
      timezone: "Asia/Seoul",
      location: { address: "Seoul", lat: 37.5, lng: 127 },
      ...overrides,
    };
    this.vehicles.set(v.id, v);
    return v;
  }

  addDriver(ownerId: string, phone: string): DriverContact {
    const d = { id: newId(), ownerId, name: "Kim Driver", phone };
    this.drivers.set(d.id, d);
    return d;
  }
}

export function fakePeers(world: World, only: ("vehicles" | "payments" | "driverLinks" | "notifications" | "facts")[] = ["vehicles", "payments", "driverLinks", "notifications", "facts"]): ServiceSchema[] {
  const all: Record<string, ServiceSchema> = {
    vehicles: {
      name: "vehicles",
      actions: {
        get: {
          visibility: "public",
          async handler(ctx: any) {
            await world.record("vehicles.get", ctx.params);
            const v = world.vehicles.get(ctx.params.id);
            if (!v || v.status === "deleted") throw notFound("The vehicle");
            return structuredClone(v);
          },
        },
        driverContact: {
          visibility: "public",
          async handler(ctx: any) {
            await world.record("vehicles.driverContact", ctx.params);
            const d = world.drivers.get(ctx.params.driverId);
            if (!d) throw notFound("The driver");
            return d;
          },
        },
      },
    },
    payments: {
      name: "payments",
      actions: {
        createForBooking: {
          visibility: "public",
          async handler(ctx: any) {
            await world.record("payments.createForBooking", ctx.params);
            const cmd = ctx.params as CreatePaymentCommand;
            let p = world.payments.get(cmd.bookingId);
            if (!p) {
              const now = new Date().toISOString();
              p = { id: newId(), bookingId: cmd.bookingId, amount: cmd.amount, platformFee: cmd.platformFee, hostAmount: cmd.hostAmount, currency: cmd.currency, status: "pending", source: cmd.source, discrepancy: false, createdAt: now, updatedAt: now };
              world.payments.set(cmd.bookingId, p);
            }
            return p;
          },
        },
        voidForBooking: {
          visibility: "public",
          async handler(ctx: any) {
            await world.record("payments.voidForBooking", ctx.params);
            const p = world.payments.get(ctx.params.bookingId);
            if (!p) return null;
            p.status = "voided";
            return p;
          },
        },
      },
    },
    driverLinks: {
      name: "driverLinks",
      actions: {
        issue: {
          visibility: "public",
          async handler(ctx: any) {
            await world.record("driverLinks.issue", ctx.params);
            const cmd = ctx.params as IssueDriverLinkCommand;
            const key = `${cmd.bookingId}:${cmd.issueKey}`;
            let link = world.links.get(key);
            if (!link) world.links.set(key, (link = { linkId: newId(), expiresAt: new Date(Date.now() + 48 * 3_600_000).toISOString(), revoked: false }));
            return { linkId: link.linkId, expiresAt: link.expiresAt };
          },
        },
        revokeForBooking: {
          visibility: "public",
          async handler(ctx: any) {
            await world.record("driverLinks.revokeForBooking", ctx.params);
            let revoked = 0;
            for (const [k, l] of world.links) {
              if (k.startsWith(`${ctx.params.bookingId}:`) && !l.revoked) {
                l.revoked = true;
                revoked++;
              }
            }
            return { revoked };
          },
        },
      },
    },
    notifications: {
      name: "notifications",
      actions: {
        /** SMS (the OTPs auth sends) go to the development outbox as the real service would; in-app ones are recorded. */
        send: {
          visibility: "public",
          async handler(ctx: any) {
            const m = ctx.params;
            if (m.channel === "sms") {
              await smsProvider(() => undefined).send({ to: m.to, body: `[carshare] code ${m.params?.code ?? ""}`, kind: m.kind });
              return { key: m.key, queued: true };
            }
            await world.record("notifications.send", m);
            if (world.inApp.has(m.key)) return { key: m.key, queued: false };
            world.inApp.set(m.key, m);
            return { key: m.key, queued: true };
          },
        },
      },
    },
    facts: {
      name: "bookingFactSpy",
      channels: Object.fromEntries(
        ["booking.requested", "booking.accepted", "booking.declined", "booking.cancelled", "booking.expired", "booking.confirmed", "booking.started", "booking.completed"].map((t) => [
          t,
          {
            handler(fact: Fact<any>) {
              if (!world.facts.some((f) => f.id === fact.id)) world.facts.push(fact);
            },
          },
        ]),
      ),
    },
  };
  return only.map((n) => all[n]);
}

// ---- users ----------------------------------------------------------------------

/** Marks a user's KYC approved in auth's own store (test rig only) and drops the gateways' cached claims. */
export async function approveKyc(authBroker: ServiceBroker, userId: string, everyBroker: ServiceBroker[] = [authBroker]): Promise<void> {
  const auth = authBroker.getLocalService("auth") as any;
  await auth.auth.users.updateOne({ _id: userId }, { $set: { kycStatus: "approved" } });
  for (const b of everyBroker) await b.broadcast("user.changed", { userId });
}

/** The embedded system the bookings HTTP tests run against: gateway, real auth and bookings (fast saga retries), its peers faked by `world`; `env` on top. */
export function startBookingsSystem(world: World, env: Record<string, string> = {}): Promise<TestSystem> {
  return startSystem({ SERVICES: "gateway,auth,bookings", BOOKING_SAGA_BACKOFF: "20ms", ...env }, { extraServices: fakePeers(world) });
}

export type User = Session & { phone: string; id: string };

/** A logged-in renter (renter role) with approved KYC. */
export async function renter(sys: { api: Client; dataDir: string; broker: ServiceBroker }, kyc = true): Promise<User> {
  const s = await loginByOtp(sys);
  if (kyc) await approveKyc(sys.broker, s.user.id);
  return { ...s, id: s.user.id };
}

/** A logged-in owner (renter and owner roles) with approved KYC. */
export async function owner(sys: { api: Client; dataDir: string; broker: ServiceBroker }, kyc = true, phone?: string): Promise<User> {
  const s = await loginByOtp(sys, phone);
  const r = await sys.api.post("/v1/auth/me/roles", { role: "owner" }, s.accessToken);
  if (r.status !== 200) throw new Error(`adding the owner role failed: ${r.status} ${r.text}`);
  if (kyc) await approveKyc(sys.broker, s.user.id);
  return { ...s, id: s.user.id };
}

// ---- time -----------------------------------------------------------------------

const HOUR = 3_600_000;
let slot = 0;

/** A fresh whole-hour start some days ahead (distinct per call), in +09:00. */
export function nextSlot(daysAhead = 3): number {
  const base = Math.ceil(Date.now() / HOUR) * HOUR + daysAhead * 24 * HOUR;
  return base + slot++ * 100 * HOUR;
}

/** ISO 8601 with a +09:00 offset, as a Korean client would send it. */
export function kst(ms: number): string {
  const d = new Date(ms + 9 * HOUR);
  return d.toISOString().replace(/\.\d{3}Z$/, "+09:00");
}

export const hours = (n: number) => n * HOUR;
