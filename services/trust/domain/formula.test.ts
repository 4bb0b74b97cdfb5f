import { bayesianRating, computeScore, EMPTY_INPUTS, type ScoreInputs } from "./formula";

const user = (over: Partial<ScoreInputs> = {}): ScoreInputs => ({ ...EMPTY_INPUTS("user"), ...over });

describe("the trust formula (docs/trust.md)", () => {
  test("when a user is new, then the priors give 71, and 91 with KYC approved", () => {
    expect(computeScore(user()).score).toBe(71);
    expect(computeScore(user({ kycStatus: "approved" })).score).toBe(91);
    expect(computeScore(user({ kycStatus: "submitted" })).score).toBe(81);
  });

  test("when a driver is new, then the KYC weight goes to the other components", () => {
    const { score, components } = computeScore(EMPTY_INPUTS("driver"));
    expect(components.kyc).toEqual({ value: 0, weight: 0, status: null });
    expect(score).toBe(88); // 70.5 of 80
  });

  test("when one 5-star review meets fifty 4.8s, then the fifty win", () => {
    const one = bayesianRating(1, 5);
    const fifty = bayesianRating(50, 50 * 4.8);
    expect(one).toBeCloseTo(4.0909, 4);
    expect(fifty).toBeCloseTo(4.6667, 4);
    expect(computeScore(user({ ratingCount: 50, ratingSum: 240 })).score).toBeGreaterThan(computeScore(user({ ratingCount: 1, ratingSum: 5 })).score);
  });

  test("the worked example of docs/trust.md gives 92", () => {
    const { score, components } = computeScore(user({ kycStatus: "approved", completed: 18, failed: 2, reports: 10, accurate: 9, discrepancies: 1, ratingCount: 12, ratingSum: 54 }));
    expect(components.completionRate).toMatchObject({ value: 0.9, rate: 0.9, completed: 18, failed: 2 });
    expect(components.paymentAccuracy).toMatchObject({ value: 0.9, rate: 0.9 });
    expect(components.ratings).toMatchObject({ count: 12, average: 4.5, bayesian: 4.2727, value: 0.8182 });
    expect(score).toBe(92);
    expect(computeScore(user({ kycStatus: "approved", completed: 18, failed: 2, reports: 10, accurate: 9, discrepancies: 1, ratingCount: 12, ratingSum: 54, openFlags: 1 })).score).toBe(84);
  });

  test("when a user has an open flag, then disputes halve and the score drops by 7 or 8; two flags take it all", () => {
    expect(computeScore(user({ openFlags: 1 })).score).toBe(63);
    expect(computeScore(user({ openFlags: 1 })).components.disputes).toMatchObject({ value: 0.5, openFlags: 1 });
    expect(computeScore(user({ openFlags: 3 })).components.disputes.value).toBe(0);
    expect(computeScore(user({ resolvedFlags: 4 })).score).toBe(71);
  });

  test("scores stay within 0-100 at the extremes", () => {
    expect(computeScore(user({ kycStatus: "approved", completed: 1000, reports: 1000, accurate: 1000, ratingCount: 1000, ratingSum: 5000 })).score).toBe(100);
    expect(computeScore(user({ kycStatus: "rejected", failed: 1000, reports: 1000, unpaid: 1000, openFlags: 5, ratingCount: 1000, ratingSum: 1000 })).score).toBe(0);
  });
});
