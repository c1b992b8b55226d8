#!/usr/bin/env python3
"""Turns the backend workload's records (bench/run.sh, results/backend.jsonl)
into results/backend.md: messages forwarded through an HTTP backend, ngx_ws
against nchan's nchan_publisher_upstream_request and a Node ws server that
makes the HTTP call itself, in the same run. ngx_ws calls a location
(a subrequest that proxy_passes); ngx_ws_direct names the upstream group in
the hook (the module's own pipelined HTTP/1.1 client).

The servers are not all saturated (one message in flight per connection,
and the upstream and wsload share one CPU), so messages per second of
server CPU measure each server's own cost; latency is the client's round
trip, the backend call included. Medians over the runs; ratios are
ngx_ws's (and ngx_ws_direct's) median over the peer's, from the same
file only.

    backend_table.py results/backend.jsonl [--command TEXT] [--when TEXT]
"""
import argparse
import json
import statistics

GOALS = {"nchan": 2.0, "node_ws": 3.0}  # per CPU-second, from the issue
OURS = ("ngx_ws", "ngx_ws_direct")


def per_cpu(run):
    return run["rate"] / run["server_cpu"] if run["server_cpu"] > 0 else 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("jsonl")
    parser.add_argument("--command", default="")
    parser.add_argument("--when", default="")
    args = parser.parse_args()
    runs = [json.loads(line) for line in open(args.jsonl) if line.strip()]
    by_upstream = {}
    for run in runs:
        key = (run["upstream"], run["connections"])
        by_upstream.setdefault(key, {}).setdefault(run["label"], []).append(run)

    out = ["# Message forwarding through an HTTP backend", ""]
    if args.command:
        out += [f"`{args.command}`" + (f", {args.when}" if args.when else ""), ""]
    out += ["Each client keeps one message in flight; the server POSTs it to the"
            " upstream and sends the answer back. Medians of the runs; /CPU-s is"
            " messages over the server's CPU (cores busy); latency is the client's"
            " round trip.", "",
            "| upstream | conns | server | msg/s | server CPU | msg/CPU-s | p50 ms | p99 ms"
            " | ngx_ws per CPU-s | ngx_ws p99 | failed or lost conns |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (upstream, conns), labels in by_upstream.items():
        med = {}
        for label, rs in labels.items():
            med[label] = {
                "rate": statistics.median(r["rate"] for r in rs),
                "cpu": statistics.median(r["server_cpu"] for r in rs),
                "per_cpu": statistics.median(per_cpu(r) for r in rs),
                "p50": statistics.median(r["p50_us"] for r in rs) / 1000,
                "p99": statistics.median(r["p99_us"] for r in rs) / 1000,
                "lost": max(r["connections_failed"] + r["connections_lost"] for r in rs),
            }
        order = sorted(labels, key=lambda l: (l not in OURS, l))
        for label in order:
            m = med[label]
            ratios, p99s = [], []
            for ours in OURS:
                if label in OURS or ours not in med or m["per_cpu"] <= 0:
                    continue
                o = med[ours]
                ratio = f"{ours}: **{o['per_cpu'] / m['per_cpu']:.2f}x**"
                goal = GOALS.get(label)
                if goal:
                    ratio += f" (goal {goal:.0f}x: {'met' if o['per_cpu'] >= goal * m['per_cpu'] else 'not met'})"
                ratios.append(ratio)
                p99s.append(f"{ours}: {o['p99'] / m['p99']:.2f}x"
                            f" ({'no worse' if o['p99'] <= m['p99'] else 'worse'})")
            ratio, p99 = "; ".join(ratios), "; ".join(p99s)
            out.append(f"| {upstream} | {conns:,} | {label} | {m['rate']:,.0f} | {m['cpu']:.2f}"
                       f" | {m['per_cpu']:,.0f} | {m['p50']:.2f} | {m['p99']:.2f}"
                       f" | {ratio} | {p99} | {m['lost']} |")
    print("\n".join(out))


main()
