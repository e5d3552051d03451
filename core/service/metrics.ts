import { Counter as PromCounter, Gauge as PromGauge, Histogram as PromHistogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The daemons' Prometheus metrics, on prom-client: one registry per daemon, every name under the
 * daemon's prefix, and prom-client's default process metrics (CPU, memory, event-loop lag, GC,
 * handles) when asked for. What prom-client does not do, and this module adds: label values that
 * may be bigints or booleans (ids and flags as the daemons hold them), and the prefix.
 */

export type Labels = Readonly<Record<string, string | number | bigint | boolean>>;

export interface Counter {
  /** Adds `by` (default 1, never negative). */
  inc(labels?: Labels, by?: number): void;
}

export interface Gauge {
  set(value: number, labels?: Labels): void;
  inc(labels?: Labels, by?: number): void;
  dec(labels?: Labels, by?: number): void;
}

export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

/** Default histogram buckets for durations in seconds (prom-client's). */
export const DEFAULT_SECONDS_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsOptions {
  /** Also export prom-client's process metrics (`<prefix>process_cpu_seconds_total`, `<prefix>nodejs_eventloop_lag_seconds`, …). */
  readonly processMetrics?: boolean;
}

const text = (labels: Labels = {}) => Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));

export class Metrics {
  readonly prefix: string;
  readonly registry = new Registry();

  /** `prefix` is prepended to every name: `new Metrics("refute_node")` gives `refute_node_jobs_total`. */
  constructor(prefix = "", options: MetricsOptions = {}) {
    this.prefix = prefix === "" || prefix.endsWith("_") ? prefix : `${prefix}_`;
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: this.prefix });
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const c = new PromCounter({ name: this.prefix + name, help, labelNames, registers: [this.registry] });
    return { inc: (labels, by = 1) => c.inc(text(labels), by) };
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    const g = new PromGauge({ name: this.prefix + name, help, labelNames, registers: [this.registry] });
    return { set: (value, labels) => g.set(text(labels), value), inc: (labels, by = 1) => g.inc(text(labels), by), dec: (labels, by = 1) => g.dec(text(labels), by) };
  }

  histogram(name: string, help: string, buckets: readonly number[] = DEFAULT_SECONDS_BUCKETS, labelNames: readonly string[] = []): Histogram {
    const h = new PromHistogram({ name: this.prefix + name, help, labelNames, buckets: [...buckets], registers: [this.registry] });
    return { observe: (value, labels) => h.observe(text(labels), value) };
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
