/**
 * The geocoding port: an address in, coordinates out. Adapters live next to
 * it (kakao.ts); the service picks one from configuration (index.ts) and never
 * learns which provider answered.
 */

export interface GeoPoint {
  lat: number;
  lng: number;
  /** The provider's name for the place it found. */
  address: string;
}

export interface Geocoder {
  /**
   * The best match for `address`, or null when the provider knows no such
   * place. Throws GeocodingUnavailable when the provider cannot answer now
   * (down, slow, refusing our key, or the circuit is open).
   */
  geocode(address: string): Promise<GeoPoint | null>;
}

export class GeocodingUnavailable extends Error {
  constructor(message: string, readonly reason: "circuit_open" | "timeout" | "http" | "network" | "bad_answer" | "auth") {
    super(message);
    this.name = "GeocodingUnavailable";
  }
}
