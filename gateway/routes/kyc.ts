/** KYC routes (API.md "KYC") -> services/kyc/kyc.service.ts */
export default {
  "POST /v1/kyc/documents": "multipart:kyc.uploadDocument",
  "GET /v1/kyc/documents": "kyc.documents",
  "GET /v1/kyc/documents/:docId": "kyc.myDocument",
  "PUT /v1/kyc/address": "kyc.setAddress",
  "PUT /v1/kyc/corporate": "kyc.setCorporate",
  "POST /v1/kyc/submit": "kyc.submit",
  "GET /v1/kyc/status": "kyc.status",
  "GET /v1/admin/kyc": "kyc.adminList",
  "GET /v1/admin/kyc/:userId": "kyc.adminGet",
  "GET /v1/admin/kyc/:userId/documents/:docId": "kyc.adminDocument",
  "POST /v1/admin/kyc/:userId/approve": "kyc.approve",
  "POST /v1/admin/kyc/:userId/reject": "kyc.reject",
} as const;
