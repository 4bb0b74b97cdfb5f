/** Picks the geocoder from configuration: Kakao with a key, none without (then coordinates are required). */
import type { Config } from "../../../lib/config";
import { CircuitBreaker } from "./breaker";
import type { Geocoder } from "./geocoder";
import { KakaoGeocoder } from "./kakao";

export * from "./geocoder";

export function geocoderFrom(cfg: Config, log: { warn(msg: string): void; info(msg: string): void }): Geocoder | null {
  const { kakaoRestKey, kakaoBaseUrl, timeoutMs } = cfg.geocoding;
  if (!kakaoRestKey) return null;
  return new KakaoGeocoder({
    baseUrl: kakaoBaseUrl,
    apiKey: kakaoRestKey,
    timeoutMs,
    breaker: new CircuitBreaker({ threshold: 5, openMs: 30_000, onChange: (state) => log.info(`Kakao geocoding circuit is now ${state}`) }),
    onFailure: (err) => log.warn(`Kakao geocoding failed (${err.reason}): ${err.message}`),
  });
}
