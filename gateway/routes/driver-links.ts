/**
 * Driver link routes (API.md "Driver links") -> services/driver-links/driver-links.service.ts.
 * The HTML page `/d/<token>` is a route block of its own in gateway/api.service.ts.
 * Owner re-issue `POST /v1/bookings/:id/driver-link` belongs to bookings.
 */
export default {
  "GET /v1/driver-links/:token": "driverLinks.view",
  "POST /v1/driver-links/:token/payment": "driverLinks.submit",
} as const;
