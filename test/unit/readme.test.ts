/** The README documents every configuration variable that lib/config.ts reads. */
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "../..");

test("when a variable is read in lib/config.ts, then the README's table names it", () => {
  const source = fs.readFileSync(path.join(root, "lib/config.ts"), "utf8");
  const names = new Set([...source.matchAll(/\(env, "([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1]));
  expect(names.size).toBeGreaterThan(20);
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
  const missing = [...names].filter((n) => !readme.includes(`\`${n}\``));
  expect(missing).toEqual([]);
});

test("when a newcomer opens the README, then it starts with the two commands", () => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
  const firstBlock = readme.slice(readme.indexOf("```"), readme.indexOf("```", readme.indexOf("```") + 3));
  expect(firstBlock).toContain("npm start");
  expect(firstBlock).toContain("npm test");
});
