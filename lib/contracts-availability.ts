/** A vehicle's availability rules (API.md "Vehicles and drivers"), interpreted in its timezone. */
export interface AvailabilityRules {
  weekly?: { day: number; start: string; end: string }[];
  exceptions?: ({ date: string; closed: true } | { date: string; start: string; end: string; closed?: false })[];
  blocks?: { start: string; end: string; reason?: string }[];
}
