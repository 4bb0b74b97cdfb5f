/**
 * Admin routes (API.md "Admin", "Ratings and trust") onto the services that own
 * the data: users -> services/auth, bookings -> services/bookings, flags,
 * trust overrides and analytics -> services/trust. (Payments and the audit
 * log: admin-payments.ts; KYC review: kyc.ts.)
 */
export default {
  "GET /v1/admin/users": "auth.adminList",
  "POST /v1/admin/users/:id/suspend": "auth.suspend",
  "POST /v1/admin/users/:id/reinstate": "auth.reinstate",
  "GET /v1/admin/bookings": "bookings.adminList",
  "GET /v1/admin/analytics": "trust.analytics",
  "POST /v1/admin/flags": "trust.raiseFlag",
  "GET /v1/admin/flags": "trust.listFlags",
  "POST /v1/admin/flags/:id/resolve": "trust.resolveFlag",
  "PUT /v1/admin/trust/:userId": "trust.setOverride",
  "DELETE /v1/admin/trust/:userId": "trust.clearOverride",
  "POST /v1/admin/trust/recompute": "trust.recompute",
} as const;
