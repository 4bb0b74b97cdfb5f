import { boundingBox, CELL_PRECISION, cellBounds, cellKeysOf, cellOf, cellsCovering, haversineKm, LatLng, MAX_COVER_CELLS, nearestWithin } from "./geo";

const SEOUL_CITY_HALL: LatLng = { lat: 37.5663, lng: 126.9779 };
const GANGNAM_STATION: LatLng = { lat: 37.4979, lng: 127.0276 };
const BUSAN: LatLng = { lat: 35.1796, lng: 129.0756 };
const RAD = Math.PI / 180;

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The point reached from `from` going `km` along initial bearing `bearingDeg`. */
function destination(from: LatLng, bearingDeg: number, km: number): LatLng {
  const d = km / 6371.0088;
  const [phi, lambda, theta] = [from.lat * RAD, from.lng * RAD, bearingDeg * RAD];
  const phi2 = Math.asin(Math.sin(phi) * Math.cos(d) + Math.cos(phi) * Math.sin(d) * Math.cos(theta));
  const lambda2 = lambda + Math.atan2(Math.sin(theta) * Math.sin(d) * Math.cos(phi), Math.cos(d) - Math.sin(phi) * Math.sin(phi2));
  const lng = ((((lambda2 / RAD + 180) % 360) + 360) % 360) - 180;
  return { lat: Math.max(-90, Math.min(90, phi2 / RAD)), lng };
}

/** n points uniformly spread over the disc, a tenth of them hugging its rim. */
function pointsInCircle(centre: LatLng, radiusKm: number, n: number, seed: number): LatLng[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const km = i % 10 === 0 ? radiusKm * (1 - 1e-9 * rand()) : radiusKm * Math.sqrt(rand());
    return destination(centre, rand() * 360, km);
  }).filter((p) => haversineKm(centre, p) <= radiusKm);
}

describe("haversineKm", () => {
  it("when measuring Seoul City Hall to Gangnam station, then it is about 8.8 km", () => {
    expect(haversineKm(SEOUL_CITY_HALL, GANGNAM_STATION)).toBeCloseTo(8.78, 1);
  });

  it("when measuring Seoul to Busan, then it is about 325 km and symmetric", () => {
    expect(haversineKm(SEOUL_CITY_HALL, BUSAN)).toBeCloseTo(325.1, 0);
    expect(haversineKm(BUSAN, SEOUL_CITY_HALL)).toBe(haversineKm(SEOUL_CITY_HALL, BUSAN));
  });

  it("when points straddle the antimeridian, then the short way round is measured", () => {
    expect(haversineKm({ lat: 0, lng: 179.9 }, { lat: 0, lng: -179.9 })).toBeCloseTo(22.24, 1);
  });
});

describe("cellOf and cellKeysOf", () => {
  it("when encoding the textbook example, then the standard geohash comes out", () => {
    expect(cellOf(57.64911, 10.40744, 10)).toBe("u4pruydqqv");
  });

  it("when encoding Seoul City Hall, then its keys are the prefixes of one geohash", () => {
    expect(cellOf(SEOUL_CITY_HALL.lat, SEOUL_CITY_HALL.lng)).toBe("wydm9");
    expect(cellKeysOf(SEOUL_CITY_HALL.lat, SEOUL_CITY_HALL.lng)).toEqual(["w", "wy", "wyd", "wydm", "wydm9"]);
  });

  it("when a cell is decoded, then its bounds contain the point and are ~0.044 degrees wide", () => {
    const b = cellBounds(cellOf(BUSAN.lat, BUSAN.lng));
    expect(b.south).toBeLessThanOrEqual(BUSAN.lat);
    expect(b.north).toBeGreaterThan(BUSAN.lat);
    expect(b.west).toBeLessThanOrEqual(BUSAN.lng);
    expect(b.east).toBeGreaterThan(BUSAN.lng);
    expect(b.north - b.south).toBeCloseTo(180 / 4096, 12);
    expect(b.east - b.west).toBeCloseTo(360 / 8192, 12);
  });

  it("when the point is on the edge of the map, then it still gets a cell", () => {
    expect(cellOf(90, 180)).toBe("zzzzz");
    expect(cellOf(-90, -180)).toBe("00000");
  });

  it("when coordinates are out of range, then a RangeError is thrown", () => {
    expect(() => cellOf(91, 0)).toThrow(RangeError);
    expect(() => cellOf(0, NaN)).toThrow(RangeError);
    expect(() => cellsCovering(0, 0, -1)).toThrow(RangeError);
  });
});

describe("boundingBox", () => {
  it("when the circle is around Seoul, then the box is wider in degrees of longitude than of latitude", () => {
    const box = boundingBox(SEOUL_CITY_HALL.lat, SEOUL_CITY_HALL.lng, 10);
    expect(box.north - SEOUL_CITY_HALL.lat).toBeCloseTo(10 / 111.195, 4);
    expect(box.east - SEOUL_CITY_HALL.lng).toBeGreaterThan(box.north - SEOUL_CITY_HALL.lat);
    for (const bearing of [0, 90, 180, 270, 45]) {
      const p = destination(SEOUL_CITY_HALL, bearing, 10);
      expect(p.lat).toBeGreaterThanOrEqual(box.south - 1e-9);
      expect(p.lat).toBeLessThanOrEqual(box.north + 1e-9);
      expect(p.lng).toBeGreaterThanOrEqual(box.west - 1e-9);
      expect(p.lng).toBeLessThanOrEqual(box.east + 1e-9);
    }
  });

  it("when the circle crosses the antimeridian, then west is greater than east", () => {
    const box = boundingBox(-17.7, 179.98, 30);
    expect(box.west).toBeGreaterThan(179);
    expect(box.east).toBeLessThan(-179);
  });

  it("when the circle contains a pole, then all longitudes are included", () => {
    expect(boundingBox(89.9, 10, 20)).toEqual({ south: expect.any(Number), west: -180, north: 90, east: 180 });
  });
});

describe("cellsCovering", () => {
  const scenarios: Array<[string, LatLng, number]> = [
    ["Seoul City Hall, 5 km", SEOUL_CITY_HALL, 5],
    ["Gangnam, 1 km", GANGNAM_STATION, 1],
    ["Seoul, 20 km", SEOUL_CITY_HALL, 20],
    ["Seoul, 50 km", SEOUL_CITY_HALL, 50],
    ["Busan, 12 km", BUSAN, 12],
    ["Fiji across the antimeridian, 30 km", { lat: -17.7, lng: 179.98 }, 30],
    ["the equator and prime meridian, 8 km", { lat: 0, lng: 0 }, 8],
    ["Svalbard, 30 km", { lat: 78.2232, lng: 15.6267 }, 30],
    ["near the North Pole, 20 km", { lat: 89.95, lng: 40 }, 20],
    ["a radius of 0", { lat: 37.529296875, lng: 126.9580078125 }, 0],
  ];

  it.each(scenarios)("when 2000 random points lie within the circle (%s), then every one's cell is in the covering", (_name, centre, radiusKm) => {
    const keys = cellsCovering(centre.lat, centre.lng, radiusKm);
    const covering = new Set(keys);
    const precision = keys[0].length;
    expect(keys.every((k) => k.length === precision)).toBe(true);
    expect(keys.length).toBeLessThanOrEqual(MAX_COVER_CELLS);
    const points = radiusKm === 0 ? [centre] : pointsInCircle(centre, radiusKm, 2000, Math.round(centre.lat * 1000 + radiusKm));
    expect(points.length).toBeGreaterThan(radiusKm === 0 ? 0 : 1900);
    const missed = points.filter((p) => !covering.has(cellOf(p.lat, p.lng, precision)));
    expect(missed).toEqual([]);
  });

  it("when searching 5 km around Seoul City Hall, then a small set of precision-5 cells is used", () => {
    const keys = cellsCovering(SEOUL_CITY_HALL.lat, SEOUL_CITY_HALL.lng, 5);
    expect(keys[0]).toHaveLength(CELL_PRECISION);
    expect(keys.length).toBeLessThanOrEqual(20);
    expect(keys).toContain("wydm9");
  });

  it("when searching 50 km, then a coarser precision keeps the set small", () => {
    const keys = cellsCovering(SEOUL_CITY_HALL.lat, SEOUL_CITY_HALL.lng, 50);
    expect(keys[0].length).toBeLessThan(CELL_PRECISION);
    expect(keys.length).toBeLessThanOrEqual(40);
  });

  it("when cells of the bounding box lie wholly outside the circle, then they are left out", () => {
    const keys = cellsCovering(SEOUL_CITY_HALL.lat, SEOUL_CITY_HALL.lng, 20);
    const box = boundingBox(SEOUL_CITY_HALL.lat, SEOUL_CITY_HALL.lng, 20);
    const boxCells = new Set<string>();
    for (let lat = box.south; lat <= box.north; lat += 0.01) {
      for (let lng = box.west; lng <= box.east; lng += 0.01) boxCells.add(cellOf(lat, lng, keys[0].length));
    }
    expect(keys.every((k) => boxCells.has(k))).toBe(true);
    expect(keys.length).toBeLessThan(boxCells.size * 0.9);
  });

  it("when vehicles are searched through their stored cells, then the result equals a brute-force scan", () => {
    const fleet = pointsInCircle(SEOUL_CITY_HALL, 80, 3000, 7).map((p, i) => ({ id: i, ...p, cells: cellKeysOf(p.lat, p.lng) }));
    for (const [centre, radiusKm] of [[SEOUL_CITY_HALL, 1], [GANGNAM_STATION, 5], [SEOUL_CITY_HALL, 20], [GANGNAM_STATION, 50]] as const) {
      const wanted = new Set(cellsCovering(centre.lat, centre.lng, radiusKm));
      const candidates = fleet.filter((v) => v.cells.some((c) => wanted.has(c))); // what {cells: {$in: [...]}} returns
      const found = nearestWithin(centre, radiusKm, candidates, (v) => v).map((h) => h.item.id);
      const expected = nearestWithin(centre, radiusKm, fleet, (v) => v).map((h) => h.item.id);
      expect(found).toEqual(expected);
    }
  });
});

describe("finer cells (the search stores precision 7)", () => {
  it("when keys are asked down to precision 7, then they are the prefixes of one geohash and extend the default ones", () => {
    const keys = cellKeysOf(SEOUL_CITY_HALL.lat, SEOUL_CITY_HALL.lng, 7);
    expect(keys).toHaveLength(7);
    expect(keys.slice(0, CELL_PRECISION)).toEqual(cellKeysOf(SEOUL_CITY_HALL.lat, SEOUL_CITY_HALL.lng));
    expect(keys[6]).toBe(cellOf(SEOUL_CITY_HALL.lat, SEOUL_CITY_HALL.lng, 7));
  });

  it.each([[0.5, 7], [1, 6], [3, 6]])("when a %s km circle is covered with finest 7, then precision-%s cells are used and nothing within it is missed", (radiusKm, precision) => {
    const keys = cellsCovering(GANGNAM_STATION.lat, GANGNAM_STATION.lng, radiusKm, 7);
    expect(keys[0]).toHaveLength(precision);
    expect(keys.length).toBeLessThanOrEqual(MAX_COVER_CELLS);
    const covering = new Set(keys);
    const missed = pointsInCircle(GANGNAM_STATION, radiusKm, 2000, 11).filter((p) => !covering.has(cellOf(p.lat, p.lng, precision)));
    expect(missed).toEqual([]);
  });

  it("when the finest precision is out of range, then a RangeError is thrown", () => {
    expect(() => cellsCovering(0, 0, 1, 11)).toThrow(RangeError);
    expect(() => cellKeysOf(0, 0, 0)).toThrow(RangeError);
  });
});

describe("nearestWithin", () => {
  const places = [
    { name: "Busan", ...BUSAN },
    { name: "Gangnam", ...GANGNAM_STATION },
    { name: "City Hall", ...SEOUL_CITY_HALL },
  ];

  it("when searching 10 km around Seoul City Hall, then Busan is excluded and the nearest comes first", () => {
    const hits = nearestWithin(SEOUL_CITY_HALL, 10, places, (p) => p);
    expect(hits.map((h) => h.item.name)).toEqual(["City Hall", "Gangnam"]);
    expect(hits[0].distanceKm).toBe(0);
    expect(hits[1].distanceKm).toBeCloseTo(8.78, 1);
  });

  it("when the radius reaches Busan, then all places come back sorted by distance", () => {
    expect(nearestWithin(GANGNAM_STATION, 400, places, (p) => p).map((h) => h.item.name)).toEqual(["Gangnam", "City Hall", "Busan"]);
  });
});
