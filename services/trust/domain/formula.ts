/**
 * The trust score: five components, each in [0, 1], weighted into 0-100.
 * Pure functions of counts, so the same counts always give the same score.
 * docs/trust.md explains the choices and works an example through.
 */
import type { KycStatus } from "../../../lib/auth-types";
import type { Components, ScoredType } from "./model";

export const WEIGHTS = { kyc: 20, completionRate: 25, paymentAccuracy: 20, disputes: 15, ratings: 20 } as const;

/** Bayesian priors: a mean and how many observations it is worth. */
export const PRIORS = {
  completion: { mean: 0.9, weight: 5 },
  payment: { mean: 0.9, weight: 5 },
  /** Ratings on the 1-5 scale: m = 4.0 worth C = 10 ratings. */
  rating: { mean: 4.0, weight: 10 },
} as const;

/** Each open flag takes this much off the disputes component (floor 0). */
export const FLAG_PENALTY = 0.5;

export const KYC_VALUE: Record<KycStatus, number> = { approved: 1, submitted: 0.5, none: 0, rejected: 0 };

export interface ScoreInputs {
  subjectType: ScoredType;
  /** null for drivers: they are not users and have no KYC (the weight goes to the others). */
  kycStatus: KycStatus | null;
  completed: number;
  failed: number;
  reports: number;
  accurate: number;
  discrepancies: number;
  unpaid: number;
  openFlags: number;
  resolvedFlags: number;
  ratingCount: number;
  ratingSum: number;
}

export const EMPTY_INPUTS = (subjectType: ScoredType): ScoreInputs => ({
  subjectType, kycStatus: subjectType === "user" ? "none" : null,
  completed: 0, failed: 0, reports: 0, accurate: 0, discrepancies: 0, unpaid: 0, openFlags: 0, resolvedFlags: 0, ratingCount: 0, ratingSum: 0,
});

/** (successes + mean * weight) / (trials + weight): the prior when there is no data, the observed rate with plenty. */
export function smoothed(successes: number, trials: number, prior: { mean: number; weight: number }): number {
  return (successes + prior.mean * prior.weight) / (trials + prior.weight);
}

/** The Bayesian average rating (C * m + sum) / (C + n), on the 1-5 scale. */
export function bayesianRating(count: number, sum: number): number {
  const { mean, weight } = PRIORS.rating;
  return (weight * mean + sum) / (weight + count);
}

const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

export function computeScore(i: ScoreInputs): { score: number; components: Components } {
  const kycApplies = i.kycStatus !== null;
  const bayes = bayesianRating(i.ratingCount, i.ratingSum);
  const components: Components = {
    kyc: { value: kycApplies ? KYC_VALUE[i.kycStatus!] : 0, weight: kycApplies ? WEIGHTS.kyc : 0, status: i.kycStatus },
    completionRate: {
      value: r4(smoothed(i.completed, i.completed + i.failed, PRIORS.completion)),
      weight: WEIGHTS.completionRate,
      completed: i.completed,
      failed: i.failed,
      rate: i.completed + i.failed ? r4(i.completed / (i.completed + i.failed)) : null,
    },
    paymentAccuracy: {
      value: r4(smoothed(i.accurate, i.reports, PRIORS.payment)),
      weight: WEIGHTS.paymentAccuracy,
      reports: i.reports,
      accurate: i.accurate,
      discrepancies: i.discrepancies,
      unpaid: i.unpaid,
      rate: i.reports ? r4(i.accurate / i.reports) : null,
    },
    disputes: { value: Math.max(0, 1 - FLAG_PENALTY * i.openFlags), weight: WEIGHTS.disputes, openFlags: i.openFlags, resolvedFlags: i.resolvedFlags },
    ratings: {
      value: r4((bayes - 1) / 4),
      weight: WEIGHTS.ratings,
      count: i.ratingCount,
      average: i.ratingCount ? r4(i.ratingSum / i.ratingCount) : null,
      bayesian: r4(bayes),
    },
  };
  const parts = Object.values(components);
  const total = parts.reduce((s, c) => s + c.weight, 0);
  const weighted = parts.reduce((s, c) => s + c.weight * c.value, 0);
  // Half up; the epsilon keeps 70.5 from becoming 70.49999999.
  const score = Math.min(100, Math.max(0, Math.round((100 * weighted) / total + 1e-9)));
  return { score, components };
}
