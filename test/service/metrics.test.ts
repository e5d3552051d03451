import { expect } from "chai";
import { Metrics } from "../../core/service/metrics";

/**
 * core/service/metrics.ts on prom-client: what the daemons rely on is the prefix, labels given as
 * numbers, bigints or booleans, and the exposition text; the format itself is prom-client's.
 */
describe("core/service/metrics (prom-client)", () => {
  it("renders counters, gauges and histograms under the prefix in the text exposition format", async () => {
    const m = new Metrics("refute_node");
    const jobs = m.counter("jobs_total", "Jobs served.", ["model", "outcome"]);
    const height = m.gauge("chain_height", "Latest block seen.");
    const latency = m.histogram("rpc_seconds", "RPC latency.", [0.1, 1]);
    jobs.inc({ model: 1n, outcome: "ok" });
    jobs.inc({ model: 1n, outcome: "ok" }, 2);
    height.set(1234);
    height.inc();
    height.dec(undefined, 0.5);
    for (const v of [0.05, 0.1, 0.5, 7]) latency.observe(v);
    const text = await m.render();
    expect(text).to.include("# TYPE refute_node_jobs_total counter\n").and.include('refute_node_jobs_total{model="1",outcome="ok"} 3\n');
    expect(text).to.include("refute_node_chain_height 1234.5\n");
    expect(text).to.include('refute_node_rpc_seconds_bucket{le="0.1"} 2\n').and.include('refute_node_rpc_seconds_bucket{le="+Inf"} 4\n').and.include("refute_node_rpc_seconds_count 4\n");
    expect(m.contentType).to.match(/^text\/plain; version=0\.0\.4/);
  });

  it("turns boolean and bigint label values into text", async () => {
    const m = new Metrics();
    m.counter("games_total", "Games.", ["won", "model"]).inc({ won: true, model: 2n ** 64n - 1n });
    expect(await m.render()).to.include('games_total{won="true",model="18446744073709551615"} 1');
  });

  it("exports the process metrics under the prefix when asked (CPU, memory, event-loop lag, GC)", async () => {
    const text = await new Metrics("refute_watcher", { processMetrics: true }).render();
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_gc_duration_seconds"]) expect(text, name).to.include(`refute_watcher_${name}`);
    expect(await new Metrics("x").render(), "not unless asked").to.not.include("process_cpu");
  });

  it("refuses what Prometheus would refuse: a bad name, a name registered twice, a counter going down, a label it was not declared with", () => {
    const m = new Metrics("p");
    expect(() => m.counter("jobs-total", "h")).to.throw(/Invalid metric name/);
    m.counter("jobs_total", "h");
    expect(() => m.gauge("jobs_total", "h")).to.throw(/already been registered/);
    expect(() => m.counter("c_total", "h").inc(undefined, -1)).to.throw(/not possible to decrease a counter/);
    expect(() => m.counter("d_total", "h", ["model"]).inc({ other: 1 })).to.throw(/label/i);
  });
});
