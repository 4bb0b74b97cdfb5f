/** Admin payment and audit routes (API.md "Payments", "Admin") -> services/payments/payments.service.ts */
export default {
  "GET /v1/admin/payments": "payments.adminList",
  "PATCH /v1/admin/payments/:id": "payments.override",
  "GET /v1/admin/audit": "payments.audit",
  "GET /v1/admin/audit/verify": "payments.verifyAudit",
} as const;
