/**
 * `npm ci` refuses a lock file that names a dependency without an entry for it.
 * This workplace's npm registry does not serve some other platforms' optional
 * binaries (e.g. @msgpackr-extract/msgpackr-extract-darwin-arm64, a 404 here),
 * so `npm install` leaves them out and CI's `npm ci` would then fail. Their
 * entries are kept in the lock by hand, with their os/cpu, so npm skips them on
 * Linux without fetching. This test keeps it that way.
 */
import fs from "node:fs";
import path from "node:path";

test("when the lock file names an optional dependency, then it also has an entry for it", () => {
  const lock = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package-lock.json"), "utf8"));
  const entries: Record<string, { optionalDependencies?: Record<string, string> }> = lock.packages;
  const missing: string[] = [];
  for (const [where, entry] of Object.entries(entries)) {
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
      // Resolved like Node: nested first, then each parent node_modules up to the root.
      const parts = where ? where.split("/node_modules/") : [];
      let found = false;
      for (let i = parts.length; i >= 0 && !found; i--) {
        const base = parts.slice(0, i).join("/node_modules/");
        found = `${base ? base + "/" : ""}node_modules/${dep}` in entries;
      }
      if (!found) missing.push(`${where} -> ${dep}`);
    }
  }
  expect(missing).toEqual([]);
});
