/** Prometheus text from Moleculer's own metrics, served by the gateway (no extra port). */
import { MetricReporters } from "moleculer";

const Base = (MetricReporters as any).Base;
const Prometheus = (MetricReporters as any).Prometheus;

export class PrometheusTextReporter extends Prometheus {
  /** Same formatting as Moleculer's reporter, without opening its own HTTP server. */
  init(registry: unknown) {
    Base.prototype.init.call(this, registry);
  }
  async stop() {}
  render(): string {
    return (this as any).generatePrometheusResponse();
  }
}

/** The reporter of this process, shared by the broker options and the gateway. */
export const prometheus: { render(): string } & object = new (PrometheusTextReporter as any)({});
