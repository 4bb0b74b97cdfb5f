/**
 * The booking saga: what accepting a booking sets in motion, persisted in the
 * bookings database (`sagas`, one document per booking) so that a crash or a
 * restart resumes it instead of losing it.
 *
 *   step 1  payments.createForBooking   (source "driver_link" with a driver, else "online")
 *   step 2  driverLinks.issue           (only with a driver; issueKey `${bookingId}:1`)
 *   step 3  notifications.send          (in-app, to renter and owner)
 *   -> done
 *
 * Each step runs as a queue job (`saga:${bookingId}:${step}`) and advances the
 * saga with an update conditional on `{step, status: "running"}`, so two
 * runners of one step (a retry, a sweep, another instance) advance it once.
 * Every called action is idempotent (lib/contracts.ts), so a repeated call
 * never charges, links or notifies twice. A step that failed `maxAttempts`
 * times (counted in the document, so restarts do not reset it) turns the saga
 * to "compensating": revoke the driver link, void the payment, then cancel the
 * booking (which releases its time) with reason "saga_failed: ...", and tell
 * both parties. A booking cancelled by a party after acceptance compensates
 * the same way without the cancel.
 */
import { bookingNoticeKey } from "../../../lib/events";
import type { CreatePaymentCommand, IssueDriverLinkCommand, PaymentView } from "../../../lib/contracts";
import { AppError, DuplicateKeyError } from "../../../lib/errors";
import type { Collection, Database } from "../../../lib/store";
import type { Bookings, Logger } from "../domain/bookings";
import type { BookingRecord } from "../domain/model";

export type SagaStatus = "running" | "done" | "compensating" | "compensated";

export interface SagaDoc {
  _id: string; // the booking id
  /** The next step to run: 1 payment, 2 driver link, 3 notifications; 4 when done. */
  step: number;
  status: SagaStatus;
  /** Failed tries of the current step. */
  attempts: number;
  lastError?: string;
  paymentId?: string;
  linkId?: string;
  /** Why it compensates: a step kept failing, or a party cancelled the booking. */
  trigger?: "failure" | "cancelled";
  createdAt: string;
  updatedAt: string;
}

export interface InAppMessage { key: string; userId: string; template: string; params: Record<string, string | number> }

/** The peers the saga calls; each call is idempotent by contract. */
export interface SagaPeers {
  createPayment(cmd: CreatePaymentCommand): Promise<PaymentView>;
  issueDriverLink(cmd: IssueDriverLinkCommand): Promise<{ linkId: string; expiresAt: string }>;
  notify(message: InAppMessage): Promise<unknown>;
  revokeDriverLinks(bookingId: string): Promise<unknown>;
  voidPayment(bookingId: string, reason: string): Promise<unknown>;
}

/** Schedules the job that runs the saga's next move; `key` is the step number or "compensate". */
export type ScheduleSaga = (bookingId: string, key: string, suffix?: string) => Promise<void>;

/** What driver-links needs to issue a link for this booking; the same key gives the same link. */
function linkCommand(b: BookingRecord, paymentId: string, issueKey: string): IssueDriverLinkCommand {
  return {
    bookingId: b._id,
    paymentId,
    driverId: b.driverId!,
    issueKey,
    booking: {
      vehicle: { id: b.vehicleId, make: b.vehicle.make, model: b.vehicle.model, licensePlate: b.vehicle.licensePlate },
      start: b.start,
      end: b.end,
      expectedAmount: b.price.total,
      currency: b.price.currency,
    },
  };
}

const STEP_NAMES: Record<number, string> = { 1: "payment", 2: "driver link", 3: "notifications" };
const LIVE_BOOKING = new Set(["accepted", "confirmed", "active", "completed"]);

export class BookingSaga {
  readonly sagas: Collection<SagaDoc>;

  constructor(
    db: Database,
    private readonly bookings: Bookings,
    private readonly peers: SagaPeers,
    private readonly schedule: ScheduleSaga,
    private readonly options: { maxAttempts: number },
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.sagas = db.collection<SagaDoc>("sagas", [{ fields: { status: 1 } }]);
  }

  private iso(ms = this.now()) {
    return new Date(ms).toISOString();
  }

  /** Starts the saga of an accepted booking. Idempotent. */
  async begin(b: BookingRecord): Promise<void> {
    const now = this.iso();
    try {
      await this.sagas.insert({ _id: b._id, step: 1, status: "running", attempts: 0, createdAt: now, updatedAt: now });
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
    const saga = await this.sagas.findById(b._id);
    if (saga?.status === "running") await this.schedule(b._id, String(saga.step));
    await this.bookings.records.updateOne({ _id: b._id, sagaPending: true }, { $set: { sagaPending: false } });
  }

  /**
   * The owner asks for a fresh driver link (lost SMS, new phone): driver-links
   * revokes the old link and texts a new one. The same `requestKey` (the
   * caller's Idempotency-Key) gives the same link, so a retried request does
   * not text twice.
   */
  async reissueDriverLink(b: BookingRecord, requestKey: string): Promise<{ linkId: string; expiresAt: string }> {
    if (b.status !== "accepted") throw new AppError("INVALID_STATE", "Only an accepted booking that awaits payment gets a new driver link", { status: b.status });
    if (!b.driverId) throw new AppError("INVALID_STATE", "This booking's vehicle has no driver; it is paid online");
    const saga = await this.sagas.findById(b._id);
    if (!saga?.paymentId || saga.status !== "done") throw new AppError("INVALID_STATE", "The booking's payment is still being set up; try again in a moment");
    const link = await this.peers.issueDriverLink(linkCommand(b, saga.paymentId, `${b._id}:reissue:${requestKey}`));
    await this.sagas.updateOne({ _id: b._id }, { $set: { linkId: link.linkId, updatedAt: this.iso() } });
    return link;
  }

  /** A party cancelled an accepted booking: undo what the saga did. */
  async abort(bookingId: string): Promise<void> {
    const s = await this.sagas.updateOne({ _id: bookingId, status: { $in: ["running", "done"] } }, { $set: { status: "compensating", trigger: "cancelled", updatedAt: this.iso() } });
    if (s) await this.schedule(bookingId, "compensate");
  }

  /** The job: runs the saga's current step, or its compensation. Throws to have the queue retry. */
  async run(bookingId: string): Promise<void> {
    const saga = await this.sagas.findById(bookingId);
    if (!saga || saga.status === "done" || saga.status === "compensated") return;
    if (saga.status === "compensating") return this.compensate(saga);
    const b = await this.bookings.records.findById(bookingId);
    if (!b || !LIVE_BOOKING.has(b.status)) {
      // Cancelled (or gone) while the saga ran: undo instead of going on.
      const s = await this.sagas.updateOne({ _id: bookingId, status: "running" }, { $set: { status: "compensating", trigger: "cancelled", updatedAt: this.iso() } });
      if (s) await this.compensate(s);
      return;
    }
    try {
      await this.runStep(saga, b);
    } catch (err) {
      const message = errorText(err);
      const failed = await this.sagas.updateOne(
        { _id: bookingId, step: saga.step, status: "running" },
        { $inc: { attempts: 1 }, $set: { lastError: `${STEP_NAMES[saga.step] ?? saga.step}: ${message}`, updatedAt: this.iso() } },
      );
      if (failed && failed.attempts >= this.options.maxAttempts) {
        this.log.warn(`Booking ${bookingId}: saga step ${saga.step} failed ${failed.attempts} times (${message}); compensating`);
        const c = await this.sagas.updateOne({ _id: bookingId, step: saga.step, status: "running" }, { $set: { status: "compensating", trigger: "failure", updatedAt: this.iso() } });
        if (c) await this.schedule(bookingId, "compensate");
        return;
      }
      throw err;
    }
  }

  private async runStep(saga: SagaDoc, b: BookingRecord): Promise<void> {
    const id = b._id;
    let advanced: SagaDoc | null = null;
    switch (saga.step) {
      case 1: {
        const payment = await this.peers.createPayment({
          bookingId: id,
          renterId: b.renterId,
          ownerId: b.ownerId,
          driverId: b.driverId,
          amount: b.price.total,
          platformFee: b.price.platformFee,
          hostAmount: b.price.hostAmount,
          currency: b.price.currency,
          source: b.driverId ? "driver_link" : "online",
        });
        advanced = await this.advance(saga, b.driverId ? 2 : 3, { paymentId: payment.id });
        await this.bookings.records.updateOne({ _id: id, paymentId: { $exists: false } }, { $set: { paymentId: payment.id } });
        break;
      }
      case 2: {
        if (!b.driverId || !saga.paymentId) {
          advanced = await this.advance(saga, 3, {});
          break;
        }
        const link = await this.peers.issueDriverLink(linkCommand(b, saga.paymentId, `${id}:1`));
        advanced = await this.advance(saga, 3, { linkId: link.linkId });
        break;
      }
      case 3: {
        const params = messageParams(b);
        for (const userId of [b.renterId, b.ownerId]) {
          await this.peers.notify({ key: bookingNoticeKey(id, "accepted", userId, "in_app"), userId, template: "booking_accepted", params });
        }
        await this.advance(saga, 4, {}, "done");
        return;
      }
      default:
        return;
    }
    if (advanced?.status === "running") await this.schedule(id, String(advanced.step));
  }

  private advance(saga: SagaDoc, step: number, set: Partial<SagaDoc>, status: SagaStatus = "running") {
    return this.sagas.updateOne(
      { _id: saga._id, step: saga.step, status: "running" },
      { $set: { ...set, step, status, attempts: 0, updatedAt: this.iso() }, $unset: { lastError: true } },
    );
  }

  /** Undo in reverse: driver link, payment, then the booking and its time. Throws to be retried. */
  private async compensate(saga: SagaDoc): Promise<void> {
    const id = saga._id;
    const b = await this.bookings.records.findById(id);
    const failure = saga.trigger === "failure";
    if (failure && b && (b.status === "active" || b.status === "completed")) {
      // Picked up already: the car is out and paid for; undoing now would do more harm than the failed step.
      this.log.warn(`Booking ${id}: saga failed (${saga.lastError}) after pickup; nothing compensated`);
      await this.sagas.updateOne({ _id: id, status: "compensating" }, { $set: { status: "compensated", updatedAt: this.iso() } });
      return;
    }
    const reason = failure ? `saga_failed: ${saga.lastError ?? "unknown error"}` : "booking cancelled";
    if (saga.linkId || b?.driverId) await this.peers.revokeDriverLinks(id);
    // Always: the payment may exist although the call that created it did not answer.
    await this.peers.voidPayment(id, reason);
    if (failure && b) {
      let cancelled: BookingRecord | null = null;
      try {
        cancelled = await this.bookings.transition(id, { from: ["accepted", "confirmed"], to: "cancelled", actor: { id: null, kind: "system" }, reason });
      } catch (err) {
        if (!(err instanceof AppError && err.type === "INVALID_STATE")) throw err;
      }
      const current = cancelled ?? (await this.bookings.records.findById(id));
      if (current?.holdState === "releasing") await this.bookings.releaseHold(current);
      if (cancelled) {
        const params = { ...messageParams(cancelled), reason };
        for (const userId of [cancelled.renterId, cancelled.ownerId]) {
          // Best effort: the booking.cancelled fact says the same to whoever listens.
          await this.peers.notify({ key: bookingNoticeKey(id, "cancelled", userId, "in_app"), userId, template: "booking_cancelled", params }).catch((err) =>
            this.log.warn(`Booking ${id}: telling ${userId} about the cancellation failed:`, errorText(err)),
          );
        }
      }
    }
    await this.sagas.updateOne({ _id: id, status: "compensating" }, { $set: { status: "compensated", updatedAt: this.iso() } });
  }

  /**
   * Picks up what a crash or a lost job left behind: accepted bookings whose
   * saga was never written, and sagas not done that nobody advanced for
   * `staleMs` (0 at start-up: the embedded queue lived in memory).
   */
  async resume(staleMs: number, suffix: string): Promise<number> {
    const before = this.iso(this.now() - staleMs);
    let n = 0;
    for (const b of await this.bookings.records.find({ sagaPending: true, updatedAt: { $lte: before } }, { limit: 500 })) {
      await this.begin(b);
      n++;
    }
    for (const s of await this.sagas.find({ status: { $in: ["running", "compensating"] }, updatedAt: { $lte: before } }, { limit: 500 })) {
      await this.schedule(s._id, s.status === "compensating" ? "compensate" : String(s.step), suffix);
      n++;
    }
    return n;
  }
}

function messageParams(b: BookingRecord): Record<string, string | number> {
  return {
    bookingId: b._id,
    vehicle: `${b.vehicle.make} ${b.vehicle.model} (${b.vehicle.licensePlate})`,
    start: b.start,
    end: b.end,
    amount: b.price.total,
    currency: b.price.currency,
  };
}

function errorText(err: unknown): string {
  const e = err as { type?: string; message?: string };
  return `${e?.type ? `${e.type} ` : ""}${e?.message ?? String(err)}`.slice(0, 500);
}
