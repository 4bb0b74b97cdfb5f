/** Embedded profile: stopping and starting again on the same DATA_DIR keeps users and sessions. */
import fs from "node:fs";
import { loginByOtp, startSystem, tempDir } from "../support/system";

test("when the system restarts on the same data folder, then users, access and refresh tokens, and revocations survive", async () => {
  const dataDir = tempDir();
  try {
    const first = await startSystem({ DATA_DIR: dataDir });
    const alice = await loginByOtp(first);
    const bob = await loginByOtp(first);
    expect((await first.api.post("/v1/auth/logout", {}, bob.accessToken)).status).toBe(204);
    await first.stop();

    const second = await startSystem({ DATA_DIR: dataDir });
    try {
      const me = await second.api.get("/v1/auth/me", alice.accessToken);
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(alice.user.id);
      const refreshed = await second.api.post("/v1/auth/refresh", { refreshToken: alice.refreshToken });
      expect(refreshed.status).toBe(200);
      expect((await second.api.get("/v1/auth/me", bob.accessToken)).status).toBe(401);
      expect((await loginByOtp(second, alice.phone)).user.id).toBe(alice.user.id);
    } finally {
      await second.stop();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
