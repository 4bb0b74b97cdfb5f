/**
 * Driver links: one-time, expiring links by which a vehicle's driver reports
 * whether the renter paid. Only the token's SHA-256 is stored.
 *
 * Single use: the first report inserts the link's use record, keyed by the
 * link's id (a unique insert: exactly one wins, on every store), with the
 * Idempotency-Key and the report; the answer is stored on it once complete.
 * The same key replayed gets that answer (or, if a crash or a failed step
 * left none, finishes the same report again: every step after the claim is
 * idempotent); any other key gets LINK_USED. When recording the payment
 * fails, the claim is withdrawn, so nothing is half-written and the driver
 * can simply try again.
 */
import type { DriverContact, DriverReportCommand, IssueDriverLinkCommand, PaymentView } from "../../../lib/contracts";
import { AppError, conflict, DuplicateKeyError, notFound } from "../../../lib/errors";
import type { FactType } from "../../../lib/events";
import { newId, newSecret, sha256 } from "../../../lib/ids";
import type { Collection, Database } from "../../../lib/store";
import { summaryOf, type LinkRecord, type LinkSummary, type LinkUse, type Report, type SubmitAnswer } from "./model";

export interface Ports {
  driverContact(driverId: string): Promise<DriverContact>;
  /** notifications.send on the sms channel. */
  sendSms(message: { key: string; to: string; template: string; params: Record<string, string | number> }): Promise<void>;
  recordReport(cmd: DriverReportCommand): Promise<PaymentView>;
  /** bookings.confirmPayment; null when bookings could not answer (the payment.paid fact will confirm it). */
  confirmBooking(bookingId: string, paymentId: string): Promise<{ id: string; status: string } | null>;
  publish(type: FactType, data: unknown, id: string): Promise<void>;
}

export interface LinkSettings { ttlMs: number; publicUrl: string }

const TOKEN = /^[A-Za-z0-9_-]{43}$/; // 32 random bytes, base64url

export const linkUsed = () => new AppError("LINK_USED", "This link has already been used");
export const linkExpired = (message = "This link has expired") => new AppError("LINK_EXPIRED", message);

export class DriverLinks {
  readonly links: Collection<LinkRecord>;
  readonly uses: Collection<LinkUse>;

  constructor(db: Database, private readonly ports: Ports, private readonly settings: LinkSettings) {
    this.uses = db.collection<LinkUse>("link_uses");
    this.links = db.collection<LinkRecord>("links", [
      { fields: { tokenHash: 1 }, unique: true },
      { fields: { issueId: 1 }, unique: true },
      { fields: { bookingId: 1 } },
    ]);
  }

  /** Idempotent by (bookingId, issueKey): same key, same link, one SMS. Revokes the booking's other open links. */
  async issue(cmd: IssueDriverLinkCommand): Promise<{ linkId: string; expiresAt: string }> {
    const issueId = `${cmd.bookingId}:${cmd.issueKey}`;
    let link = await this.links.findOne({ issueId });
    if (link?.sms === "queued") return this.finishIssue(link);
    const contact = await this.ports.driverContact(cmd.driverId);
    const token = newSecret(32);
    let fresh = false;
    if (!link) {
      const now = new Date();
      const record: LinkRecord = {
        _id: newId(),
        issueId,
        tokenHash: sha256(token),
        bookingId: cmd.bookingId,
        paymentId: cmd.paymentId,
        driverId: cmd.driverId,
        ownerId: contact.ownerId,
        booking: cmd.booking,
        expiresAt: new Date(now.getTime() + this.settings.ttlMs).toISOString(),
        createdAt: now.toISOString(),
        sms: "pending",
        rotation: 0,
      };
      try {
        link = await this.links.insert(record);
        fresh = true;
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
        const other = await this.links.findOne({ issueId });
        if (!other) throw err;
        return { linkId: other._id, expiresAt: other.expiresAt }; // a concurrent issue of the same key sends it
      }
    } else {
      // An earlier try stored the link but may not have sent it, and its token is gone: send a fresh one.
      const rotated = await this.links.updateOne({ _id: link._id, sms: "pending", rotation: link.rotation }, { $set: { tokenHash: sha256(token) }, $inc: { rotation: 1 } });
      if (!rotated) {
        const now = await this.links.findById(link._id);
        if (now?.sms === "queued") return this.finishIssue(now);
        throw conflict("The driver link is being issued; try again");
      }
      link = rotated;
    }
    try {
      await this.ports.sendSms({
        key: `driverlink:${link._id}${link.rotation ? `:${link.rotation}` : ""}`,
        to: contact.phone,
        template: "driver_link",
        params: {
          url: `${this.settings.publicUrl}/d/${token}`,
          vehicle: `${cmd.booking.vehicle.make} ${cmd.booking.vehicle.model} (${cmd.booking.vehicle.licensePlate})`,
          start: cmd.booking.start,
          end: cmd.booking.end,
          amount: cmd.booking.expectedAmount,
          currency: cmd.booking.currency,
          hours: Math.round(this.settings.ttlMs / 3_600_000),
        },
      });
    } catch (err) {
      // Nothing half-written: a link nobody was told about does not stay behind.
      if (fresh) await this.links.deleteOne({ _id: link._id, sms: "pending" }).catch(() => undefined);
      throw err;
    }
    const sent = (await this.links.updateOne({ _id: link._id }, { $set: { sms: "queued" } })) ?? link;
    return this.finishIssue(sent);
  }

  /** Repeated by every retry of an issue: revoke the booking's older links, publish the fact (same id). */
  private async finishIssue(link: LinkRecord) {
    await this.links.updateMany(
      { bookingId: link.bookingId, _id: { $ne: link._id }, createdAt: { $lte: link.createdAt }, usedAt: { $exists: false }, revokedAt: { $exists: false } },
      { $set: { revokedAt: new Date().toISOString(), revokedReason: "reissued" } },
    );
    await this.ports.publish("driverlink.issued", { linkId: link._id, bookingId: link.bookingId, paymentId: link.paymentId, driverId: link.driverId, ownerId: link.ownerId, expiresAt: link.expiresAt }, `driverlink.issued:${link._id}`);
    return { linkId: link._id, expiresAt: link.expiresAt };
  }

  /** Compensation: the booking's open links stop working. Idempotent. */
  async revokeForBooking(bookingId: string, reason = "revoked"): Promise<{ revoked: number }> {
    const revoked = await this.links.updateMany({ bookingId, usedAt: { $exists: false }, revokedAt: { $exists: false } }, { $set: { revokedAt: new Date().toISOString(), revokedReason: reason } });
    return { revoked };
  }

  /** The link behind a token, or 404 (a malformed token costs no lookup). */
  async find(token: string): Promise<LinkRecord> {
    const link = TOKEN.test(token) ? await this.links.findOne({ tokenHash: sha256(token) }) : null;
    if (!link) throw notFound("The link");
    return link;
  }

  /** Throws when the link cannot be used now: revoked or expired (410 LINK_EXPIRED). */
  assertOpen(link: LinkRecord, now = new Date().toISOString()) {
    if (link.revokedAt) throw linkExpired("This link was replaced by a newer one");
    if (link.expiresAt <= now) throw linkExpired();
  }

  async view(token: string): Promise<LinkSummary> {
    const link = await this.find(token);
    if (link.usedAt || (await this.uses.findById(link._id))) throw linkUsed();
    this.assertOpen(link);
    return summaryOf(link);
  }

  async submit(token: string, key: string, report: Report): Promise<SubmitAnswer> {
    const link = await this.find(token);
    let use = await this.uses.findById(link._id);
    if (!use) {
      this.assertOpen(link);
      const claim: LinkUse = { _id: link._id, claimId: newId(), key, report, usedAt: new Date().toISOString() };
      try {
        use = await this.uses.insert(claim);
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
        use = await this.uses.findById(link._id);
        if (!use) throw err;
      }
      if (use.claimId === claim.claimId) {
        // Ours. A revocation may have landed between the check and the claim: then it stands.
        const now = await this.links.findById(link._id);
        if (!now || now.revokedAt) {
          await this.uses.deleteOne({ _id: link._id, claimId: claim.claimId, answer: { $exists: false } });
          throw linkExpired("This link was replaced by a newer one");
        }
        await this.links.updateOne({ _id: link._id }, { $set: { usedAt: claim.usedAt } });
        return this.complete(link, use, true);
      }
    }
    if (use.key !== key) throw linkUsed();
    if (use.answer) return use.answer;
    return this.complete(link, use, false); // same key, no answer yet: finish the first report
  }

  private async complete(link: LinkRecord, use: LinkUse, claimedNow: boolean): Promise<SubmitAnswer> {
    const report = use.report;
    let payment: PaymentView;
    try {
      payment = await this.ports.recordReport({ paymentId: link.paymentId, linkId: link._id, ...report });
    } catch (err) {
      if (claimedNow) {
        // Withdraw the claim: the link is as it was, the driver can send the report again.
        await this.uses.deleteOne({ _id: link._id, claimId: use.claimId, answer: { $exists: false } }).catch(() => undefined);
        await this.links.updateOne({ _id: link._id, usedAt: use.usedAt }, { $unset: { usedAt: true } }).catch(() => undefined);
      }
      throw err;
    }
    let booking: SubmitAnswer["booking"] = { id: link.bookingId, status: "accepted" };
    if (payment.status === "paid") {
      const confirmed = await this.ports.confirmBooking(link.bookingId, payment.id);
      booking = confirmed ? { id: confirmed.id, status: confirmed.status } : { id: link.bookingId, status: "accepted", confirmationPending: true };
    }
    const answer: SubmitAnswer = {
      payment: {
        id: payment.id,
        bookingId: payment.bookingId,
        amount: payment.amount,
        currency: payment.currency,
        status: payment.status,
        ...(payment.method !== undefined && { method: payment.method }),
        ...(payment.reportedAmount !== undefined && { reportedAmount: payment.reportedAmount }),
        discrepancy: payment.discrepancy,
        ...(payment.paidAt !== undefined && { paidAt: payment.paidAt }),
      },
      booking,
    };
    // Published before the answer is stored: a failure here leaves no answer, so the same key finishes it again.
    await this.ports.publish(
      "driverlink.used",
      { linkId: link._id, bookingId: link.bookingId, paymentId: link.paymentId, driverId: link.driverId, ownerId: link.ownerId, paid: report.paid, usedAt: use.usedAt },
      `driverlink.used:${link._id}`,
    );
    const stored = await this.uses.updateOne({ _id: link._id, key: use.key, answer: { $exists: false } }, { $set: { answer, answeredAt: new Date().toISOString() } });
    if (stored) return answer;
    return (await this.uses.findById(link._id))?.answer ?? answer; // a concurrent replay stored it first
  }
}
