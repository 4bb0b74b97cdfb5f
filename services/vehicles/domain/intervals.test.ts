import { covers, intersect, Interval, normalise, overlaps, subtract, totalLength, union } from "./intervals";

const iv = (start: number, end: number): Interval => ({ start, end });

/** Deterministic PRNG so property checks are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomIntervals(rand: () => number, n: number): Interval[] {
  return Array.from({ length: n }, () => {
    const s = Math.floor(rand() * 100);
    return iv(s, s + Math.floor(rand() * 15) - 2); // some empty or reversed
  });
}

const contains = (list: Interval[], t: number): boolean => list.some((i) => i.start <= t && t < i.end);

describe("normalise", () => {
  it("when intervals overlap, touch or are out of order, then they are merged and sorted", () => {
    expect(normalise([iv(10, 20), iv(0, 5), iv(5, 8), iv(15, 30), iv(40, 41)])).toEqual([iv(0, 8), iv(10, 30), iv(40, 41)]);
  });

  it("when intervals are empty or reversed, then they are dropped", () => {
    expect(normalise([iv(3, 3), iv(5, 1)])).toEqual([]);
  });

  it("when the input is normalised, then it is not mutated", () => {
    const input = [iv(5, 10), iv(0, 6)];
    normalise(input);
    expect(input).toEqual([iv(5, 10), iv(0, 6)]);
  });
});

describe("union, subtract, intersect", () => {
  it("when two lists are united, then the result covers both", () => {
    expect(union([iv(0, 10)], [iv(5, 15), iv(20, 25)])).toEqual([iv(0, 15), iv(20, 25)]);
  });

  it("when holes are subtracted from one interval, then the remaining pieces are returned", () => {
    expect(subtract(iv(0, 100), [iv(10, 20), iv(15, 30), iv(90, 120), iv(-5, 2)])).toEqual([iv(2, 10), iv(30, 90)]);
  });

  it("when the subtraction covers everything, then nothing is left", () => {
    expect(subtract([iv(0, 10), iv(20, 30)], [iv(-1, 40)])).toEqual([]);
  });

  it("when a cut only touches an interval, then nothing is removed", () => {
    expect(subtract([iv(10, 20)], [iv(0, 10), iv(20, 30)])).toEqual([iv(10, 20)]);
  });

  it("when two lists are intersected, then only common parts remain", () => {
    expect(intersect([iv(0, 10), iv(20, 30)], [iv(5, 25), iv(29, 50)])).toEqual([iv(5, 10), iv(20, 25), iv(29, 30)]);
  });

  it("when random lists are combined, then each instant follows set semantics", () => {
    const rand = mulberry32(42);
    const mismatches: string[] = [];
    for (let round = 0; round < 300; round++) {
      const a = randomIntervals(rand, 6);
      const b = randomIntervals(rand, 6);
      const [u, s, x] = [union(a, b), subtract(a, b), intersect(a, b)];
      for (const result of [u, s, x]) expect(normalise(result)).toEqual(result);
      for (let t = -5; t < 120; t++) {
        const inA = contains(a.filter((i) => i.end > i.start), t);
        const inB = contains(b.filter((i) => i.end > i.start), t);
        const ok = contains(u, t) === (inA || inB) && contains(s, t) === (inA && !inB) && contains(x, t) === (inA && inB);
        if (!ok) mismatches.push(`round ${round}, t=${t}: a=${JSON.stringify(a)} b=${JSON.stringify(b)}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe("covers and overlaps", () => {
  it("when the window lies inside one merged interval, then it is covered", () => {
    expect(covers([iv(0, 5), iv(5, 10)], iv(2, 8))).toBe(true);
    expect(covers([iv(0, 10)], iv(0, 10))).toBe(true);
  });

  it("when the window spans a gap or sticks out, then it is not covered", () => {
    expect(covers([iv(0, 5), iv(6, 10)], iv(2, 8))).toBe(false);
    expect(covers([iv(0, 10)], iv(5, 11))).toBe(false);
  });

  it("when the window is empty, then it is not covered", () => {
    expect(covers([iv(0, 10)], iv(5, 5))).toBe(false);
  });

  it("when intervals only touch, then they do not overlap", () => {
    expect(overlaps(iv(0, 10), iv(10, 20))).toBe(false);
    expect(overlaps(iv(0, 10), iv(9, 20))).toBe(true);
    expect(overlaps(iv(0, 10), iv(3, 3))).toBe(false);
  });

  it("when lengths are summed, then overlaps are counted once", () => {
    expect(totalLength([iv(0, 10), iv(5, 15), iv(20, 21)])).toBe(16);
  });
});
