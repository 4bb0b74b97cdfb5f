/** Ratings and trust routes (API.md "Ratings and trust") -> services/trust/trust.service.ts */
export default {
  "POST /v1/bookings/:id/ratings": "trust.rate",
  "GET /v1/bookings/:id/ratings": "trust.bookingRatings",
  "GET /v1/vehicles/:id/ratings": "trust.vehicleRatings",
  "GET /v1/users/:id/ratings": "trust.userRatings",
  "GET /v1/drivers/:id/ratings": "trust.driverRatings",
  "GET /v1/users/:id/trust": "trust.userTrust",
  "GET /v1/drivers/:id/trust": "trust.driverTrust",
} as const;
