/** Booking routes (API.md "Bookings") -> services/bookings/bookings.service.ts */
export default {
  "POST /v1/bookings": "bookings.create",
  "GET /v1/bookings": "bookings.list",
  "GET /v1/bookings/:id": "bookings.get",
  "GET /v1/bookings/:id/timeline": "bookings.timeline",
  "POST /v1/bookings/:id/accept": "bookings.accept",
  "POST /v1/bookings/:id/decline": "bookings.decline",
  "POST /v1/bookings/:id/cancel": "bookings.cancel",
  "POST /v1/bookings/:id/pickup": "bookings.pickup",
  "POST /v1/bookings/:id/return": "bookings.return",
  "POST /v1/bookings/:id/driver-link": "bookings.reissueDriverLink",
} as const;
