/** Payment routes (API.md "Payments") -> services/payments/payments.service.ts. Online (Toss) confirm comes later. */
export default {
  "GET /v1/payments": "payments.list",
  "GET /v1/payments/settlements": "payments.settlements",
  "GET /v1/payments/:id": "payments.get",
} as const;
