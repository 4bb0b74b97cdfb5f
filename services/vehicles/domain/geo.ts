/**
 * Nearby-vehicle search that needs no geospatial index ($near), so it works on
 * any document store (NeDB files, MongoDB, FerretDB).
 *
 * Cell scheme: standard geohash cells (base32, bits interleaved lng/lat).
 * - A vehicle stores `cells: cellKeysOf(lat, lng)`: its geohash at precisions
 *   1..5, e.g. ["w", "wy", "wyd", "wydm", "wydm9"], in one indexed array field.
 *   Keys of different precisions differ in length, so they never collide.
 * - A search asks `{cells: {$in: cellsCovering(lat, lng, radiusKm)}}` (an
 *   array field matches when any element is in the list, in Mongo and NeDB
 *   alike), then keeps hits within the exact haversine distance and sorts
 *   nearest first (`nearestWithin`).
 * - Precision 5 cells are 0.044° x 0.044° (~4.9 x 4.9 km at the equator,
 *   ~3.9 x 4.9 km at Seoul): a 5 km search needs ~12-20 of them. For wider
 *   circles (or near the poles, where cells get narrow) cellsCovering drops to
 *   the finest precision that needs at most MAX_COVER_CELLS cells (50 km
 *   around Seoul: ~30 precision-4 cells of ~31 x 19.5 km). Precision 1 covers
 *   the world in 32 cells, so a covering always exists.
 * Geohash was chosen over a plain degree grid for its well-known keys, its
 * prefix property (a coarser cell is a prefix of a finer one, which gives the
 * multi-precision keys for free) and cells that never straddle the antimeridian.
 * Only cells the circle really touches are returned (exact spherical distance
 * from the centre to each cell), across the antimeridian and over the poles.
 */

export interface LatLng {
  lat: number;
  lng: number;
}
/** Degrees. When the box crosses the antimeridian, west > east (RFC 7946 §5.2). */
export interface BoundingBox {
  south: number;
  west: number;
  north: number;
  east: number;
}

export const EARTH_RADIUS_KM = 6371.0088;
export const CELL_PRECISION = 5;
export const MAX_COVER_CELLS = 100;

const BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz";
const RAD = Math.PI / 180;
/** Slack in degrees (~0.1 mm) so float rounding at cell edges never drops a cell. */
const EPS_DEG = 1e-9;
/** Slack in km for the same reason in the distance test. */
const EPS_KM = 1e-6;

function checkPoint(lat: number, lng: number): void {
  if (!Number.isFinite(lat) || lat < -90 || lat > 90) throw new RangeError(`latitude must be within -90..90, got ${lat}`);
  if (!Number.isFinite(lng) || lng < -180 || lng > 180) throw new RangeError(`longitude must be within -180..180, got ${lng}`);
}

function checkRadius(radiusKm: number): void {
  if (!Number.isFinite(radiusKm) || radiusKm < 0) throw new RangeError(`radiusKm must be a non-negative number, got ${radiusKm}`);
}

/** Longitude folded into [-180, 180). */
function wrapLng(lng: number): number {
  return ((((lng + 180) % 360) + 360) % 360) - 180;
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** Great-circle distance in km. */
export function haversineKm(a: LatLng, b: LatLng): number {
  const dLat = (b.lat - a.lat) * RAD;
  const dLng = (b.lng - a.lng) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Smallest lat/lng box holding every point within radiusKm of the centre (a spherical cap). */
export function boundingBox(lat: number, lng: number, radiusKm: number): BoundingBox {
  checkPoint(lat, lng);
  checkRadius(radiusKm);
  const delta = radiusKm / EARTH_RADIUS_KM / RAD; // angular radius, degrees
  const south = lat - delta;
  const north = lat + delta;
  if (north >= 90 || south <= -90) {
    // The cap contains a pole: every longitude is reached.
    return { south: Math.max(-90, south), west: -180, north: Math.min(90, north), east: 180 };
  }
  const dLng = Math.asin(Math.sin(delta * RAD) / Math.cos(lat * RAD)) / RAD;
  return { south, west: wrapLng(lng - dLng), north, east: wrapLng(lng + dLng) === -180 ? 180 : wrapLng(lng + dLng) };
}

// ---- geohash on integer cell indices ----------------------------------------

interface Grid {
  precision: number;
  lngBits: number;
  latBits: number;
}

function gridOf(precision: number): Grid {
  if (!Number.isInteger(precision) || precision < 1 || precision > 10) throw new RangeError("precision must be 1..10");
  const bits = precision * 5;
  return { precision, lngBits: Math.ceil(bits / 2), latBits: Math.floor(bits / 2) };
}

const columns = (g: Grid): number => 2 ** g.lngBits;
const rows = (g: Grid): number => 2 ** g.latBits;
const columnOf = (g: Grid, lng: number): number => clamp(Math.floor(((lng + 180) / 360) * columns(g)), 0, columns(g) - 1);
const rowOf = (g: Grid, lat: number): number => clamp(Math.floor(((lat + 90) / 180) * rows(g)), 0, rows(g) - 1);

function encode(g: Grid, row: number, column: number): string {
  let key = "";
  let chunk = 0;
  let lngBit = g.lngBits;
  let latBit = g.latBits;
  for (let k = 0; k < g.precision * 5; k++) {
    const bit = k % 2 === 0 ? (column >> --lngBit) & 1 : (row >> --latBit) & 1;
    chunk = (chunk << 1) | bit;
    if (k % 5 === 4) {
      key += BASE32[chunk];
      chunk = 0;
    }
  }
  return key;
}

function decode(key: string): { grid: Grid; row: number; column: number } {
  const grid = gridOf(key.length);
  let row = 0;
  let column = 0;
  let k = 0;
  for (const ch of key) {
    const value = BASE32.indexOf(ch);
    if (value < 0) throw new RangeError(`not a geohash: "${key}"`);
    for (let b = 4; b >= 0; b--, k++) {
      const bit = (value >> b) & 1;
      if (k % 2 === 0) column = column * 2 + bit;
      else row = row * 2 + bit;
    }
  }
  return { grid, row, column };
}

function boundsOf(g: Grid, row: number, column: number): BoundingBox {
  const latStep = 180 / rows(g);
  const lngStep = 360 / columns(g);
  return { south: -90 + row * latStep, north: -90 + (row + 1) * latStep, west: -180 + column * lngStep, east: -180 + (column + 1) * lngStep };
}

/** The geohash of a point at the given precision (default 5, ~4.9 km cells). */
export function cellOf(lat: number, lng: number, precision: number = CELL_PRECISION): string {
  checkPoint(lat, lng);
  const g = gridOf(precision);
  return encode(g, rowOf(g, lat), columnOf(g, lng));
}

/** The keys a vehicle stores: its cell at every precision 1..finest (default CELL_PRECISION). */
export function cellKeysOf(lat: number, lng: number, finest: number = CELL_PRECISION): string[] {
  const key = cellOf(lat, lng, finest);
  return Array.from({ length: finest }, (_, i) => key.slice(0, i + 1));
}

/** The lat/lng box of a cell key. */
export function cellBounds(key: string): BoundingBox {
  const { grid, row, column } = decode(key);
  return boundsOf(grid, row, column);
}

// ---- covering ----------------------------------------------------------------

/** Shortest distance from p to the meridian λ between latitudes south..north (exact on the sphere). */
function distanceToMeridianKm(p: LatLng, lng: number, south: number, north: number): number {
  const dLng = (lng - p.lng) * RAD;
  // Latitude of the point of that meridian's great circle closest to p.
  const foot = Math.atan2(Math.sin(p.lat * RAD), Math.cos(p.lat * RAD) * Math.cos(dLng)) / RAD;
  const candidates = [south, north, clamp(foot, south, north)];
  return Math.min(...candidates.map((lat) => haversineKm(p, { lat, lng })));
}

/** Shortest distance from p to any point of a cell (0 inside it). */
function distanceToCellKm(p: LatLng, cell: BoundingBox): number {
  if (p.lng >= cell.west && p.lng <= cell.east) {
    return haversineKm(p, { lat: clamp(p.lat, cell.south, cell.north), lng: p.lng });
  }
  return Math.min(distanceToMeridianKm(p, cell.west, cell.south, cell.north), distanceToMeridianKm(p, cell.east, cell.south, cell.north));
}

/** Column indices spanned by a box, wrapping over the antimeridian. */
function columnsSpanned(g: Grid, box: BoundingBox): number[] {
  const n = columns(g);
  const width = box.west <= box.east ? box.east - box.west : box.east - box.west + 360;
  if (width + 2 * EPS_DEG >= 360) return Array.from({ length: n }, (_, i) => i);
  const first = columnOf(g, wrapLng(box.west - EPS_DEG));
  const last = columnOf(g, box.east + EPS_DEG >= 180 ? wrapLng(box.east + EPS_DEG) : box.east + EPS_DEG);
  const count = ((last - first + n) % n) + 1;
  return Array.from({ length: count }, (_, i) => (first + i) % n);
}

/** Cells at one precision touched by the circle, or null when there would be more than MAX_COVER_CELLS. */
function coveringAt(precision: number, centre: LatLng, radiusKm: number, box: BoundingBox): string[] | null {
  const g = gridOf(precision);
  const cols = columnsSpanned(g, box);
  const firstRow = rowOf(g, box.south - EPS_DEG);
  const lastRow = rowOf(g, box.north + EPS_DEG);
  if (cols.length * (lastRow - firstRow + 1) > 4 * MAX_COVER_CELLS) return null;
  const keys: string[] = [];
  for (let row = firstRow; row <= lastRow; row++) {
    for (const column of cols) {
      if (distanceToCellKm(centre, boundsOf(g, row, column)) <= radiusKm + EPS_KM) keys.push(encode(g, row, column));
    }
  }
  return keys.length <= MAX_COVER_CELLS ? keys : null;
}

/**
 * Cell keys whose cells may hold a point within radiusKm of the centre: at the
 * finest precision (<= `finest`, default CELL_PRECISION) that needs at most
 * MAX_COVER_CELLS cells. Query them against the vehicles' `cells` array, which
 * must hold keys down to `finest` (cellKeysOf with the same `finest`).
 */
export function cellsCovering(lat: number, lng: number, radiusKm: number, finest: number = CELL_PRECISION): string[] {
  const box = boundingBox(lat, lng, radiusKm);
  const centre = { lat, lng: lng === 180 ? -180 : lng };
  gridOf(finest);
  for (let precision = finest; precision > 1; precision--) {
    const keys = coveringAt(precision, centre, radiusKm, box);
    if (keys) return keys;
  }
  return coveringAt(1, centre, radiusKm, box) ?? [];
}

/** Items within radiusKm of the centre, nearest first, each with its distance. */
export function nearestWithin<T>(centre: LatLng, radiusKm: number, items: readonly T[], pointOf: (item: T) => LatLng): Array<{ item: T; distanceKm: number }> {
  checkRadius(radiusKm);
  return items
    .map((item) => ({ item, distanceKm: haversineKm(centre, pointOf(item)) }))
    .filter((hit) => hit.distanceKm <= radiusKm)
    .sort((a, b) => a.distanceKm - b.distanceKm);
}
