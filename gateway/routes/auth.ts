/** Auth routes (API.md "Auth") -> services/auth/auth.service.ts */
export default {
  "POST /v1/auth/otp/request": "auth.requestOtp",
  "POST /v1/auth/otp/verify": "auth.verifyOtp",
  "POST /v1/auth/register": "auth.register",
  "POST /v1/auth/login": "auth.login",
  "POST /v1/auth/refresh": "auth.refresh",
  "POST /v1/auth/logout": "auth.logout",
  "GET /v1/auth/me": "auth.me",
  "PATCH /v1/auth/me": "auth.updateMe",
  "POST /v1/auth/me/roles": "auth.addRole",
} as const;
