/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 * Metrics render in registration order, series in the order their labels were first used.
 */

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

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

export class MetricsError extends Error {
  override name = "MetricsError";
}

type Kind = "counter" | "gauge" | "histogram";

interface HistogramSeries {
  readonly counts: number[]; // per bucket, not cumulative
  sum: number;
  count: number;
}

interface Family<S> {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  readonly labelNames: readonly string[];
  readonly series: Map<string, { labels: readonly string[]; value: S }>;
  readonly buckets?: readonly number[];
}

export class Metrics {
  readonly prefix: string;
  private readonly families = new Map<string, Family<number> | Family<HistogramSeries>>();

  /** `prefix` is prepended to every name: `new Metrics("refute_node")` gives `refute_node_jobs_total`. */
  constructor(prefix = "") {
    this.prefix = prefix === "" || prefix.endsWith("_") ? prefix : `${prefix}_`;
    if (prefix !== "" && !METRIC_NAME.test(this.prefix)) throw new MetricsError(`invalid metric prefix ${JSON.stringify(prefix)}: must match ${METRIC_NAME}`);
  }

  /** A monotonically increasing count; by convention named `…_total`. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const family = this.register<number>(name, help, "counter", labelNames);
    return {
      inc: (labels, by = 1) => {
        if (!(by >= 0) || !Number.isFinite(by)) throw new MetricsError(`${family.name}: a counter only goes up, got inc by ${by}`);
        const s = this.series(family, labels, () => 0);
        s.value += by;
      },
    };
  }

  /** A value that goes up and down. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    const family = this.register<number>(name, help, "gauge", labelNames);
    const add = (labels: Labels | undefined, by: number) => {
      if (Number.isNaN(by)) throw new MetricsError(`${family.name}: NaN`);
      this.series(family, labels, () => 0).value += by;
    };
    return {
      set: (value, labels) => {
        if (typeof value !== "number") throw new MetricsError(`${family.name}: set takes a number, got ${typeof value}`);
        this.series(family, labels, () => 0).value = value;
      },
      inc: (labels, by = 1) => add(labels, by),
      dec: (labels, by = 1) => add(labels, -by),
    };
  }

  /** Observations counted in cumulative buckets (upper bounds, strictly increasing; +Inf is added). */
  histogram(name: string, help: string, buckets: readonly number[] = DEFAULT_SECONDS_BUCKETS, labelNames: readonly string[] = []): Histogram {
    if (labelNames.includes("le")) throw new MetricsError(`histogram ${name}: "le" is reserved for the bucket label`);
    const bounds = buckets.filter((b) => b !== Infinity);
    if (bounds.length === 0) throw new MetricsError(`histogram ${name}: needs at least one finite bucket`);
    for (let i = 0; i < bounds.length; i++) {
      if (!Number.isFinite(bounds[i])) throw new MetricsError(`histogram ${name}: bucket ${bounds[i]} is not a finite number`);
      if (i > 0 && !(bounds[i] > bounds[i - 1])) throw new MetricsError(`histogram ${name}: buckets must be strictly increasing, got ${bounds[i - 1]} then ${bounds[i]}`);
    }
    const family = this.register<HistogramSeries>(name, help, "histogram", labelNames, bounds);
    return {
      observe: (value, labels) => {
        if (typeof value !== "number" || Number.isNaN(value)) throw new MetricsError(`${family.name}: observe takes a number, got ${value}`);
        const s = this.series(family, labels, () => ({ counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 })).value;
        let i = 0;
        while (i < bounds.length && value > bounds[i]) i++;
        s.counts[i]++;
        s.sum += value;
        s.count++;
      },
    };
  }

  /** The registry in the text exposition format 0.0.4, ending with a newline. */
  render(): string {
    const lines: string[] = [];
    for (const f of this.families.values()) {
      lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.kind}`);
      if (f.kind !== "histogram" && f.labelNames.length === 0 && f.series.size === 0) lines.push(`${f.name} 0`);
      for (const { labels, value } of f.series.values()) {
        if (typeof value === "number") {
          lines.push(`${f.name}${labelSet(f.labelNames, labels)} ${formatNumber(value)}`);
          continue;
        }
        const bounds = f.buckets ?? [];
        let cumulative = 0;
        for (let i = 0; i <= bounds.length; i++) {
          cumulative += value.counts[i];
          const le = i < bounds.length ? formatNumber(bounds[i]) : "+Inf";
          lines.push(`${f.name}_bucket${labelSet([...f.labelNames, "le"], [...labels, le])} ${cumulative}`);
        }
        lines.push(`${f.name}_sum${labelSet(f.labelNames, labels)} ${formatNumber(value.sum)}`);
        lines.push(`${f.name}_count${labelSet(f.labelNames, labels)} ${value.count}`);
      }
    }
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
  }

  private register<S extends number | HistogramSeries>(name: string, help: string, kind: Kind, labelNames: readonly string[], buckets?: readonly number[]): Family<S> {
    const full = this.prefix + name;
    if (!METRIC_NAME.test(full)) throw new MetricsError(`invalid metric name ${JSON.stringify(full)}: must match ${METRIC_NAME}`);
    if (this.families.has(full)) throw new MetricsError(`metric ${full} is already registered`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith("__")) throw new MetricsError(`metric ${full}: invalid label name ${JSON.stringify(l)}: must match ${LABEL_NAME} and not start with "__"`);
    }
    if (new Set(labelNames).size !== labelNames.length) throw new MetricsError(`metric ${full}: duplicate label names in ${labelNames.join(", ")}`);
    const family: Family<S> = { name: full, help, kind, labelNames: [...labelNames], series: new Map(), buckets };
    this.families.set(full, family as Family<number> | Family<HistogramSeries>);
    return family;
  }

  /** The series of `family` for `labels` (exactly its label names), created with `init` on first use. */
  private series<S>(family: Family<S>, labels: Labels | undefined, init: () => S): { labels: readonly string[]; value: S } {
    const given = labels ?? {};
    const names = Object.keys(given);
    const missing = family.labelNames.filter((l) => !(l in given));
    const extra = names.filter((l) => !family.labelNames.includes(l));
    if (missing.length > 0 || extra.length > 0) {
      const want = family.labelNames.length === 0 ? "no labels" : `labels ${family.labelNames.join(", ")}`;
      throw new MetricsError(`${family.name} takes ${want}, got ${names.length === 0 ? "none" : names.join(", ")}`);
    }
    const values = family.labelNames.map((l) => String(given[l]));
    const key = JSON.stringify(values);
    let s = family.series.get(key);
    if (s === undefined) {
      s = { labels: values, value: init() };
      family.series.set(key, s);
    }
    return s;
  }
}

function labelSet(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  return `{${names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`).join(",")}}`;
}

/** Label values escape backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatNumber(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}
