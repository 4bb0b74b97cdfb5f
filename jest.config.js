/** Two projects: `unit` (brokers without transporter, the gateway on port 0) and
 * `integration` (real NATS, Redis and MongoDB/FerretDB; needs test/infra/run-tests.ts
 * to have brought them up and exported their URLs). */
const transform = { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] };
module.exports = {
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform,
      testMatch: ["<rootDir>/services/**/*.test.ts", "<rootDir>/gateway/**/*.test.ts", "<rootDir>/lib/**/*.test.ts", "<rootDir>/test/unit/**/*.test.ts", "<rootDir>/test/e2e/**/*.test.ts"],
    },
    {
      displayName: "integration",
      testEnvironment: "node",
      transform,
      testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
    },
  ],
};
