import { expect } from "chai";
import { escapeLabelValue, Metrics, MetricsError } from "../../core/service/metrics";

describe("core/service/metrics", () => {
  describe("render", () => {
    it("writes the text exposition format for a small registry", () => {
      const m = new Metrics("refute_node");
      const jobs = m.counter("jobs_total", "Jobs served.", ["model", "outcome"]);
      const height = m.gauge("chain_height", "Latest block seen.");
      const latency = m.histogram("rpc_seconds", "RPC latency.", [0.1, 1]);
      m.counter("restarts_total", "Restarts.");
      jobs.inc({ model: "mnist", outcome: "ok" });
      jobs.inc({ model: "mnist", outcome: "ok" }, 2);
      jobs.inc({ outcome: "lost", model: "mnist" });
      height.set(1234);
      height.inc();
      height.dec(undefined, 0.5);
      latency.observe(0.05);
      latency.observe(0.1); // le is inclusive
      latency.observe(0.5);
      latency.observe(7);
      expect(m.render()).to.equal(
        [
          "# HELP refute_node_jobs_total Jobs served.",
          "# TYPE refute_node_jobs_total counter",
          'refute_node_jobs_total{model="mnist",outcome="ok"} 3',
          'refute_node_jobs_total{model="mnist",outcome="lost"} 1',
          "# HELP refute_node_chain_height Latest block seen.",
          "# TYPE refute_node_chain_height gauge",
          "refute_node_chain_height 1234.5",
          "# HELP refute_node_rpc_seconds RPC latency.",
          "# TYPE refute_node_rpc_seconds histogram",
          'refute_node_rpc_seconds_bucket{le="0.1"} 2',
          'refute_node_rpc_seconds_bucket{le="1"} 3',
          'refute_node_rpc_seconds_bucket{le="+Inf"} 4',
          "refute_node_rpc_seconds_sum 7.65",
          "refute_node_rpc_seconds_count 4",
          "# HELP refute_node_restarts_total Restarts.",
          "# TYPE refute_node_restarts_total counter",
          "refute_node_restarts_total 0",
          "",
        ].join("\n"),
      );
    });

    it("gives a labelled histogram's buckets its labels then le, cumulative", () => {
      const m = new Metrics();
      const h = m.histogram("step_seconds", "Step time.", [1, 2, 4], ["phase"]);
      for (const v of [0.5, 1.5, 1.5, 3, 9]) h.observe(v, { phase: "bisect" });
      expect(m.render().split("\n").slice(2)).to.deep.equal([
        'step_seconds_bucket{phase="bisect",le="1"} 1',
        'step_seconds_bucket{phase="bisect",le="2"} 3',
        'step_seconds_bucket{phase="bisect",le="4"} 4',
        'step_seconds_bucket{phase="bisect",le="+Inf"} 5',
        'step_seconds_sum{phase="bisect"} 15.5',
        'step_seconds_count{phase="bisect"} 5',
        "",
      ]);
    });

    it("escapes backslash, double quote and newline in label values, backslash and newline in help", () => {
      expect(escapeLabelValue('a\\b"c\nd')).to.equal('a\\\\b\\"c\\nd');
      const m = new Metrics();
      m.gauge("g", 'Help with \\ and "quotes"\nand a line.', ["path"]).set(1, { path: 'C:\\x "y"\nz' });
      expect(m.render()).to.equal(['# HELP g Help with \\\\ and "quotes"\\nand a line.', "# TYPE g gauge", 'g{path="C:\\\\x \\"y\\"\\nz"} 1', ""].join("\n"));
    });

    it("writes special values as +Inf, -Inf and NaN, and label values from numbers, bigints and booleans", () => {
      const m = new Metrics();
      const g = m.gauge("g", "G.", ["k"]);
      g.set(Infinity, { k: 1 });
      g.set(-Infinity, { k: 2n });
      g.set(NaN, { k: true });
      expect(m.render().split("\n").slice(2, 5)).to.deep.equal(['g{k="1"} +Inf', 'g{k="2"} -Inf', 'g{k="true"} NaN']);
    });

    it("is empty for an empty registry", () => {
      expect(new Metrics("x").render()).to.equal("");
    });
  });

  describe("validation", () => {
    it("rejects metric names outside [a-zA-Z_:][a-zA-Z0-9_:]*, prefix included", () => {
      const m = new Metrics();
      for (const name of ["", "1jobs", "jobs-total", "jobs total", "jöbs"]) expect(() => m.counter(name, "h"), name).to.throw(MetricsError, /invalid metric name/);
      expect(() => new Metrics("refute-node")).to.throw(MetricsError, /invalid metric prefix "refute-node"/);
      expect(() => m.counter("a:b_c", "h")).to.not.throw();
    });

    it("rejects label names outside [a-zA-Z_][a-zA-Z0-9_]*, reserved __ names, le on histograms, duplicates", () => {
      const m = new Metrics();
      expect(() => m.counter("a", "h", ["ok", "bad-label"])).to.throw(MetricsError, /invalid label name "bad-label"/);
      expect(() => m.counter("b", "h", ["a:b"])).to.throw(MetricsError, /invalid label name "a:b"/);
      expect(() => m.counter("c", "h", ["__name"])).to.throw(MetricsError, /invalid label name "__name"/);
      expect(() => m.counter("d", "h", ["x", "x"])).to.throw(MetricsError, /duplicate label names/);
      expect(() => m.histogram("e", "h", [1], ["le"])).to.throw(MetricsError, /"le" is reserved/);
    });

    it("throws on a name registered twice, whatever the type", () => {
      const m = new Metrics("p");
      m.counter("jobs_total", "h");
      expect(() => m.gauge("jobs_total", "h")).to.throw(MetricsError, /metric p_jobs_total is already registered/);
    });

    it("throws when the labels given differ from the label names", () => {
      const m = new Metrics();
      const c = m.counter("c", "h", ["model"]);
      expect(() => c.inc()).to.throw(MetricsError, /c takes labels model, got none/);
      expect(() => c.inc({ model: "m", extra: "x" })).to.throw(MetricsError, /got model, extra/);
      expect(() => m.gauge("g", "h").set(1, { a: "b" })).to.throw(MetricsError, /g takes no labels, got a/);
    });

    it("refuses to decrease a counter, and bad histogram buckets", () => {
      const m = new Metrics();
      expect(() => m.counter("c", "h").inc(undefined, -1)).to.throw(MetricsError, /only goes up/);
      expect(() => m.histogram("h1", "h", [1, 1])).to.throw(MetricsError, /strictly increasing, got 1 then 1/);
      expect(() => m.histogram("h2", "h", [2, 1])).to.throw(MetricsError, /strictly increasing/);
      expect(() => m.histogram("h3", "h", [])).to.throw(MetricsError, /at least one finite bucket/);
      expect(() => m.histogram("h4", "h", [1, NaN])).to.throw(MetricsError, /not a finite number/);
      expect(() => m.histogram("h5", "h", [1]).observe(NaN)).to.throw(MetricsError, /observe takes a number/);
    });
  });
});
