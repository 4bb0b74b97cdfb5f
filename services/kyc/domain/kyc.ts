/**
 * KYC use cases: documents streamed into the service's file store (every
 * upload kept, the newest of each kind current), address and company details,
 * submit, and an admin's approval or rejection.
 *
 * Every status change is one conditional write on the profile (`_id`, `status`
 * and `version` as read). The facts and audit entry it causes are written in the
 * same update (`outbox`), sent right after, and re-sent by `flushPending` if
 * sending failed: a decision is never stored without its facts following.
 */
import type { Collection, Database, FileStore } from "../../../lib/store";
import type { AuthUser, KycStatus } from "../../../lib/auth-types";
import type { AuditEntryV1 } from "../../../lib/audit";
import type { KycApprovedV1, KycRejectedV1, KycSubmittedV1 } from "../../../lib/events";
import { AppError, DuplicateKeyError, invalidState, notFound, unavailable, validationError } from "../../../lib/errors";
import { newId } from "../../../lib/ids";
import { brnDigits, isValidBrn } from "./brn";
import { EDITABLE, emptyProfile, missingForSubmit, type Address, type Corporate, type DocumentKind, type DocumentRecord, type DocumentRef, type KycProfile, type OutboxEntry } from "./model";
import { documentGuard, tooLarge, uploadStreamError } from "./upload-guard";
import { page, type Page, type PageRequest } from "./paging";

/** Sends one outbox entry (a fact, or an audit entry); must be safe to repeat with the same id. */
export type Publisher = (entry: OutboxEntry) => Promise<void>;

export interface AdminFilter { status?: KycStatus; corporate?: boolean; from?: string; to?: string }

const FILENAME_MAX = 200;

function cleanFilename(name: unknown): string {
  const s = typeof name === "string" ? name : "";
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f"\\/]/g, "_").slice(0, FILENAME_MAX) || "upload";
}

export class Kyc {
  readonly profiles: Collection<KycProfile>;
  readonly documents: Collection<DocumentRecord>;
  private readonly files: FileStore;

  constructor(db: Database, private readonly publish: Publisher, private readonly log: (msg: string) => void = () => undefined) {
    this.profiles = db.collection<KycProfile>("profiles", [{ fields: { status: 1, statusAt: 1 } }, { fields: { statusAt: 1 } }, { fields: { outboxAt: 1 } }]);
    this.documents = db.collection<DocumentRecord>("documents", [{ fields: { userId: 1, uploadedAt: -1 } }]);
    this.files = db.files("kyc");
  }

  // ---- the user's side -------------------------------------------------

  /** The user's profile, or an empty one (nothing is written for a mere look). */
  async view(userId: string): Promise<KycProfile> {
    return (await this.profiles.findById(userId)) ?? emptyProfile(userId);
  }

  private async ensureProfile(userId: string): Promise<KycProfile> {
    const found = await this.profiles.findById(userId);
    if (found) return found;
    try {
      return await this.profiles.insert(emptyProfile(userId));
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
      return (await this.profiles.findById(userId))!;
    }
  }

  private static assertEditable(p: KycProfile) {
    if (!EDITABLE.includes(p.status)) {
      throw invalidState(
        p.status === "submitted" ? "Your KYC is under review; it cannot change until it is decided" : "Your KYC is approved; it cannot change any more",
        { status: p.status },
      );
    }
  }

  /** One conditional write: changes only while the profile is still editable. */
  private async editProfile(userId: string, set: Record<string, unknown>): Promise<KycProfile> {
    const p = await this.ensureProfile(userId);
    Kyc.assertEditable(p);
    const updated = await this.profiles.updateOne({ _id: userId, status: { $in: [...EDITABLE] } }, { $set: { ...set, updatedAt: new Date().toISOString() } });
    if (!updated) Kyc.assertEditable((await this.profiles.findById(userId)) ?? p);
    return updated ?? (await this.view(userId));
  }

  /**
   * Streams one document into the file store. The type is decided by the
   * first bytes (415 otherwise) and more than 10 MB fails with 413; either way
   * nothing is kept. The new document becomes the current one of its kind;
   * the one it replaces stays in the history.
   */
  async uploadDocument(userId: string, type: DocumentKind, content: NodeJS.ReadableStream, meta: { filename?: unknown }): Promise<DocumentRecord> {
    const profile = await this.ensureProfile(userId);
    Kyc.assertEditable(profile);

    const guard = documentGuard();
    guard.on("error", () => undefined); // reported through `detected` and the store's put
    content.on("error", (err) => guard.destroy(uploadStreamError(err)));
    content.pipe(guard);
    const filename = cleanFilename(meta.filename);
    let info;
    try {
      const contentType = await guard.detected;
      info = await this.files.put(guard, { contentType, filename, metadata: { userId, type } });
    } catch (err) {
      // Whatever the client still sends is read and dropped, so it gets its answer.
      content.unpipe(guard);
      content.resume();
      throw err;
    }
    const contentType = guard.contentType!;
    const record: DocumentRecord = { _id: info.id, userId, type, size: info.size, contentType, filename, uploadedAt: info.createdAt };
    try {
      // busboy marks a file it cut at its size limit; never keep a cut file.
      if ((content as { truncated?: boolean }).truncated) throw tooLarge();
      await this.documents.insert(record);
      const ref: DocumentRef = { id: record._id, size: record.size, contentType, uploadedAt: record.uploadedAt };
      const updated = await this.profiles.updateOne({ _id: userId, status: { $in: [...EDITABLE] } }, { $set: { [`documents.${type}`]: ref, updatedAt: new Date().toISOString() } });
      if (!updated) Kyc.assertEditable((await this.profiles.findById(userId)) ?? { ...profile, status: "submitted" });
      return record;
    } catch (err) {
      await this.documents.deleteOne({ _id: record._id }).catch(() => undefined);
      await this.files.delete(record._id).catch(() => undefined);
      throw err;
    }
  }

  setAddress(userId: string, address: Address): Promise<KycProfile> {
    const clean: Address = { line1: address.line1, city: address.city, postalCode: address.postalCode, country: address.country };
    if (address.line2) clean.line2 = address.line2;
    return this.editProfile(userId, { address: clean });
  }

  setCorporate(userId: string, input: Corporate): Promise<KycProfile> {
    const digits = brnDigits(input.businessRegistrationNumber);
    if (!digits || !isValidBrn(digits)) {
      throw validationError([{ field: "businessRegistrationNumber", message: "is not a valid Korean business registration number (10 digits, e.g. 123-45-67890, with a correct check digit)" }]);
    }
    const corporate: Corporate = { companyName: input.companyName, businessRegistrationNumber: digits };
    if (input.taxId) corporate.taxId = input.taxId;
    return this.editProfile(userId, { corporate });
  }

  /** none|rejected -> submitted, when the ID, the selfie and the address are there. */
  async submit(userId: string): Promise<KycProfile> {
    const p = await this.view(userId);
    if (!EDITABLE.includes(p.status)) throw invalidState(`Your KYC is already ${p.status}`, { status: p.status });
    const missing = missingForSubmit(p);
    if (missing.length) {
      throw validationError(missing.map((field) => ({ field, message: field === "address" ? "is missing: set it with PUT /v1/kyc/address" : `is missing: upload a document of type ${field.split(".")[1]}` })));
    }
    const now = new Date().toISOString();
    const version = p.version + 1;
    const data: KycSubmittedV1 = { userId, status: "submitted", version, submittedAt: now, documentTypes: Object.keys(p.documents), corporate: Boolean(p.corporate) };
    return this.transition(p, "submitted", { submittedAt: now }, ["reason", "decidedAt", "decidedBy"], [{ id: newId(), type: "kyc.submitted", occurredAt: now, data: { ...data } }]);
  }

  // ---- the admin's side ------------------------------------------------

  async get(userId: string): Promise<KycProfile> {
    const p = await this.profiles.findById(userId);
    if (!p) throw notFound("The user's KYC");
    return p;
  }

  /** submitted -> approved | rejected, with the decision in the audit trail. */
  async decide(userId: string, admin: AuthUser, decision: "approved" | "rejected", reason?: string): Promise<KycProfile> {
    const p = await this.get(userId);
    if (p.status !== "submitted") throw invalidState(`Only a submitted KYC can be ${decision}; this one is ${p.status}`, { status: p.status });
    const now = new Date().toISOString();
    const version = p.version + 1;
    const fact: KycApprovedV1 | KycRejectedV1 = decision === "approved"
      ? { userId, status: "approved", version, decidedBy: admin.id, decidedAt: now }
      : { userId, status: "rejected", version, decidedBy: admin.id, decidedAt: now, reason: reason ?? "" };
    const audit: AuditEntryV1 = {
      entityType: "kyc",
      entityId: userId,
      action: decision === "approved" ? "kyc.approve" : "kyc.reject",
      actor: { id: admin.id, roles: admin.roles, kind: "admin" },
      before: { status: p.status, version: p.version },
      after: { status: decision, version, ...(reason ? { reason } : {}) },
      ...(reason ? { reason } : {}),
      at: now,
    };
    return this.transition(
      p,
      decision,
      { decidedAt: now, decidedBy: admin.id, ...(reason ? { reason } : {}) },
      reason ? [] : ["reason"],
      [
        { id: newId(), type: decision === "approved" ? "kyc.approved" : "kyc.rejected", occurredAt: now, data: { ...fact } },
        { id: newId(), type: "audit.recorded", occurredAt: now, data: { ...audit } },
      ],
    );
  }

  async list(filter: AdminFilter, req: PageRequest): Promise<Page<KycProfile>> {
    const q: Record<string, unknown> = {};
    if (filter.status) q.status = filter.status;
    if (filter.corporate !== undefined) q.corporate = { $exists: filter.corporate };
    if (filter.from || filter.to) q.statusAt = { ...(filter.from && { $gte: filter.from }), ...(filter.to && { $lt: filter.to }) };
    return page(this.profiles, q, "statusAt", 1, req);
  }

  // ---- documents -------------------------------------------------------

  /** Every upload of the user, newest first, current or replaced. */
  history(userId: string, req: PageRequest): Promise<Page<DocumentRecord>> {
    return page(this.documents, { userId }, "uploadedAt", -1, req);
  }

  /** The file of a document that belongs to `userId`; 404 for anyone else's. */
  async openDocument(userId: string, docId: string) {
    const doc = await this.documents.findById(docId);
    if (!doc || doc.userId !== userId) throw notFound("The document");
    const file = await this.files.get(doc._id);
    if (!file) throw notFound("The document's file");
    return { doc, stream: file.stream };
  }

  // ---- status changes and their facts ----------------------------------

  private async transition(p: KycProfile, to: KycStatus, set: Record<string, unknown>, unset: string[], entries: OutboxEntry[]): Promise<KycProfile> {
    // Older facts first, so consumers see them in order; nothing changes if they cannot go out.
    if (p.outbox?.length) {
      try {
        await this.flush(p);
      } catch (err) {
        this.log(`KYC facts for ${p._id} still not sent: ${(err as Error)?.message}`);
        throw unavailable("The event channel");
      }
    }
    const now = new Date().toISOString();
    const updated = await this.profiles.updateOne(
      { _id: p._id, status: p.status, version: p.version },
      {
        $set: { ...set, status: to, version: p.version + 1, statusAt: now, updatedAt: now, outbox: entries, outboxAt: now },
        $unset: Object.fromEntries(unset.map((k) => [k, true as const])),
      },
    );
    if (!updated) {
      const current = (await this.profiles.findById(p._id)) ?? p;
      throw invalidState(`The KYC changed meanwhile (it is now ${current.status}); reload and try again`, { status: current.status });
    }
    try {
      await this.flush(updated);
    } catch (err) {
      // The change is stored with its facts: flushPending sends them shortly.
      this.log(`KYC facts for ${p._id} not sent yet, will retry: ${(err as Error)?.message}`);
    }
    return updated;
  }

  private async flush(p: KycProfile) {
    for (const entry of p.outbox ?? []) await this.publish(entry);
    await this.profiles.updateOne({ _id: p._id, version: p.version }, { $unset: { outbox: true, outboxAt: true } });
  }

  /** Sends what a failed send left behind (any instance may do it: the ids make a repeat harmless). */
  async flushPending(olderThanMs = 5_000, max = 50): Promise<number> {
    const before = new Date(Date.now() - olderThanMs).toISOString();
    const pending = await this.profiles.find({ outboxAt: { $lt: before } }, { sort: { outboxAt: 1 }, limit: max });
    let sent = 0;
    for (const p of pending) {
      try {
        await this.flush(p);
        sent++;
      } catch (err) {
        this.log(`KYC facts for ${p._id} still not sent: ${(err as Error)?.message}`);
        if (err instanceof AppError && err.code === 503) break;
      }
    }
    return sent;
  }
}
