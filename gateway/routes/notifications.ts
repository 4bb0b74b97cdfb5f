/** Notification routes (API.md "Notifications") -> services/notifications/notifications.service.ts */
export default {
  "GET /v1/notifications": "notifications.list",
  "POST /v1/notifications/:id/read": "notifications.markRead",
  "PUT /v1/notifications/devices": "notifications.registerDevice",
} as const;
