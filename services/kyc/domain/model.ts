/** The kyc service's stored records and how the API shows them. */
import type { KycStatus } from "../../../lib/auth-types";
import type { DocumentContentType } from "./upload-guard";
import { formatBrn } from "./brn";

export const DOCUMENT_KINDS = ["id_front", "id_back", "selfie", "driver_license", "business_registration"] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

/** What submitting needs. */
export const REQUIRED_DOCUMENTS: readonly DocumentKind[] = ["id_front", "selfie"];

/** Documents, address and company may change only while nothing is under review or approved. */
export const EDITABLE: readonly KycStatus[] = ["none", "rejected"];

export interface Address { line1: string; line2?: string; city: string; postalCode: string; country: string }
export interface Corporate { companyName: string; businessRegistrationNumber: string /* 10 digits */; taxId?: string }

/** Every upload, kept for the record; the profile points at the current one of each kind. `_id` is the file's id. */
export interface DocumentRecord {
  _id: string;
  userId: string;
  type: DocumentKind;
  size: number;
  contentType: DocumentContentType;
  filename: string;
  uploadedAt: string;
}

export interface DocumentRef { id: string; size: number; contentType: DocumentContentType; uploadedAt: string }

/** A fact or audit entry written with the state change it reports, sent right after, and re-sent until it went out. */
export interface OutboxEntry { id: string; type: "kyc.submitted" | "kyc.approved" | "kyc.rejected" | "audit.recorded"; occurredAt: string; data: Record<string, unknown> }

/** One per user; `_id` is the user's id. `version` grows with every status change. */
export interface KycProfile {
  _id: string;
  status: KycStatus;
  version: number;
  /** When the status last changed: the review queue's order. */
  statusAt: string;
  documents: Partial<Record<DocumentKind, DocumentRef>>;
  address?: Address;
  corporate?: Corporate;
  reason?: string;
  submittedAt?: string;
  decidedAt?: string;
  decidedBy?: string;
  outbox?: OutboxEntry[];
  /** Set with `outbox`, removed once it went out: what the re-sender looks for. */
  outboxAt?: string;
  createdAt: string;
  updatedAt: string;
}

export interface DocumentView { id: string; type: DocumentKind; size: number; contentType: DocumentContentType; uploadedAt: string }

export function emptyProfile(userId: string, now = new Date().toISOString()): KycProfile {
  return { _id: userId, status: "none", version: 0, statusAt: now, documents: {}, createdAt: now, updatedAt: now };
}

export function toDocumentView(d: DocumentRecord): DocumentView {
  return { id: d._id, type: d.type, size: d.size, contentType: d.contentType, uploadedAt: d.uploadedAt };
}

function currentDocuments(p: KycProfile): DocumentView[] {
  return DOCUMENT_KINDS.flatMap((type) => {
    const ref = p.documents?.[type];
    return ref ? [{ id: ref.id, type, size: ref.size, contentType: ref.contentType, uploadedAt: ref.uploadedAt }] : [];
  });
}

/** What is still needed before the user can submit (field names as in the 400 answer). */
export function missingForSubmit(p: KycProfile): string[] {
  return [...REQUIRED_DOCUMENTS.filter((t) => !p.documents?.[t]).map((t) => `documents.${t}`), ...(p.address ? [] : ["address"])];
}

function corporateView(c: Corporate) {
  return { companyName: c.companyName, businessRegistrationNumber: formatBrn(c.businessRegistrationNumber), ...(c.taxId ? { taxId: c.taxId } : {}) };
}

/** `GET /v1/kyc/status`: what the user sees. */
export function toStatusView(p: KycProfile) {
  return {
    status: p.status,
    ...(p.reason ? { reason: p.reason } : {}),
    documents: currentDocuments(p),
    address: p.address ?? null,
    ...(p.corporate ? { corporate: corporateView(p.corporate) } : {}),
    missing: missingForSubmit(p),
    submittedAt: p.submittedAt ?? null,
    decidedAt: p.decidedAt ?? null,
  };
}

/** What an admin sees in the queue and in the detail view. */
export function toAdminView(p: KycProfile) {
  return {
    userId: p._id,
    status: p.status,
    ...(p.reason ? { reason: p.reason } : {}),
    documents: currentDocuments(p),
    address: p.address ?? null,
    corporate: p.corporate ? corporateView(p.corporate) : null,
    submittedAt: p.submittedAt ?? null,
    decidedAt: p.decidedAt ?? null,
    decidedBy: p.decidedBy ?? null,
    statusAt: p.statusAt,
    updatedAt: p.updatedAt,
  };
}
