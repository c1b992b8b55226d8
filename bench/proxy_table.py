#!/usr/bin/env python3
"""Turns the proxy workload's records (bench/run.sh, results/proxy.jsonl)
into results/proxy.md: ngx_ws's frame-aware proxy (ws_proxy_pass) against
NGINX's proxy_pass tunnel, both in front of the same Node ws echo, and Node
alone, in one run, with the goals of the proxy's issue met or not.

CPU is per round trip (one message each way), in microseconds of a core:
NGINX's (master and worker) and Node's apart, sampled by wsload over the
same window. Medians of the runs (min-max where it helps); ratios are of
medians from this file only.

    proxy_table.py results/proxy.jsonl [--command TEXT] [--when TEXT]
"""
import argparse
import json
import statistics

LABELS = {
    "ngx_ws_proxy": "client → ngx_ws `ws_proxy_pass` → Node",
    "nginx_tunnel": "client → NGINX `proxy_pass` tunnel → Node",
    "node_direct": "client → Node",
}


def median(runs, key):
    values = [r[key] for r in runs if r.get(key, -1) is not None and r.get(key, -1) >= 0]
    return statistics.median(values) if values else None


def us_per(runs, key):
    """Median over runs of cores / round trips per second, in µs."""
    values = [r[key] / r["rate"] * 1e6 for r in runs
              if r.get(key, -1) >= 0 and r["rate"] > 0]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def cpu_of(label, runs):
    """(NGINX µs, Node µs) per round trip: Node alone is the server itself."""
    if label == "node_direct":
        return None, us_per(runs, "server_cpu")
    return us_per(runs, "server_cpu"), us_per(runs, "upstream_cpu")


def verdict(ok):
    return "**met**" if ok else "**not met**"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("jsonl")
    parser.add_argument("--command", default="")
    parser.add_argument("--when", default="")
    args = parser.parse_args()
    runs = [json.loads(line) for line in open(args.jsonl) if line.strip()]
    groups = {}
    for r in runs:
        key = (r["case"], r["size"], r["pipeline"])
        groups.setdefault(key, {}).setdefault(r["label"], []).append(r)

    out = ["# The frame-aware proxy against NGINX's tunnel", ""]
    if args.command:
        out += [f"`{args.command}`" + (f", {args.when}" if args.when else ""), ""]
    out += ["Medians of the runs (min–max of round trips). CPU per round trip is µs of"
            " a core: NGINX's master and worker, and Node's (the upstream, or the"
            " server itself when alone), sampled over the same window.", "",
            "| case | path | round trips/s | p99 ms | NGINX µs/rt | Node µs/rt | NGINX cores"
            " | Node cores | failed or lost conns |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    goals = []
    for (case, size, pipeline), labels in sorted(groups.items()):
        if case == "idle":
            continue
        what = f"{case}, {labels[next(iter(labels))][0]['connections']} conns, {size} B, {pipeline} in flight"
        for label in LABELS:
            rs = labels.get(label)
            if not rs:
                continue
            nginx_us, node_us = cpu_of(label, rs)
            rates = [r["rate"] for r in rs]
            nginx_cores = median(rs, "server_cpu") if label != "node_direct" else None
            node_cores = median(rs, "upstream_cpu") if label != "node_direct" else median(rs, "server_cpu")
            lost = max(r["connections_failed"] + r["connections_lost"] for r in rs)
            out.append(
                f"| {what} | {LABELS[label]} | {fmt(statistics.median(rates))}"
                f" ({fmt(min(rates))}–{fmt(max(rates))}) | {fmt(median(rs, 'p99_us') / 1000, 1)}"
                f" | {fmt(nginx_us, 1)} | {fmt(node_us, 1)} | {fmt(nginx_cores, 2)}"
                f" | {fmt(node_cores, 2)} | {lost} |")
        ours, tunnel, alone = (labels.get(l) for l in LABELS)
        if ours and tunnel and case == "echo":
            ratio = statistics.median(r["rate"] for r in ours) / statistics.median(
                r["rate"] for r in tunnel)
            goals.append(f"| round trips ≥ 0.95× the tunnel's ({what}) | {ratio:.3f}x"
                         f" | {verdict(ratio >= 0.95)} |")
            cpu_ratio = cpu_of("ngx_ws_proxy", ours)[0] / cpu_of("nginx_tunnel", tunnel)[0]
            goals.append(f"| NGINX CPU per relayed message ≤ 1.5× the tunnel's ({what})"
                         f" | {cpu_ratio:.3f}x ({fmt(cpu_of('ngx_ws_proxy', ours)[0], 2)} against"
                         f" {fmt(cpu_of('nginx_tunnel', tunnel)[0], 2)} µs) | {verdict(cpu_ratio <= 1.5)} |")
        if ours and case == "deflate":
            node_behind_ngx_ws = cpu_of("ngx_ws_proxy", ours)[1]
            for peer, name in ((alone, "Node alone"), (tunnel, "Node behind the tunnel")):
                if not peer:
                    continue
                node_deflating = cpu_of("node_direct" if peer is alone else "nginx_tunnel", peer)[1]
                ratio = node_behind_ngx_ws / node_deflating
                goals.append(f"| with deflate to the client, the upstream's CPU per message lower"
                             f" than {name} doing deflate ({what}) | {ratio:.2f}x"
                             f" ({fmt(node_behind_ngx_ws, 1)} against {fmt(node_deflating, 1)} µs)"
                             f" | {verdict(ratio < 1)} |")
            total_ours = sum(x or 0 for x in cpu_of("ngx_ws_proxy", ours))
            if tunnel:
                total_tunnel = sum(x or 0 for x in cpu_of("nginx_tunnel", tunnel))
                goals.append(f"| (no goal) NGINX + Node CPU per round trip with deflate, ngx_ws"
                             f" compressing against Node compressing behind the tunnel"
                             f" | {total_ours / total_tunnel:.2f}x ({fmt(total_ours, 1)} against"
                             f" {fmt(total_tunnel, 1)} µs) | – |")

    idle = {}
    for (case, size, pipeline), labels in groups.items():
        if case == "idle":
            idle = labels
    if idle:
        out += ["", "Idle: NGINX's memory (Pss of the master and worker, after minus before)"
                " per open proxied connection; Node's not counted.", "",
                "| path | connections | B per connection (min–max) |", "|---|---:|---:|"]
        for label in ("ngx_ws_proxy", "nginx_tunnel"):
            rs = idle.get(label)
            if not rs:
                continue
            per = [r["bytes_per_connection"] for r in rs]
            out.append(f"| {LABELS[label]} | {rs[0]['connections'] - max(r['connections_failed'] for r in rs):,}"
                       f" | {fmt(statistics.median(per))} ({fmt(min(per))}–{fmt(max(per))}) |")
        if idle.get("ngx_ws_proxy") and idle.get("nginx_tunnel"):
            a = statistics.median(r["bytes_per_connection"] for r in idle["ngx_ws_proxy"])
            b = statistics.median(r["bytes_per_connection"] for r in idle["nginx_tunnel"])
            goals.append(f"| idle memory per proxied connection ≤ the tunnel's | {a / b:.2f}x"
                         f" ({fmt(a)} against {fmt(b)} B) | {verdict(a <= b)} |")

    out += ["", "| goal | measured | |", "|---|---|---|"] + goals
    # NGINX and Node share one core: the rate moves with whatever else runs
    # there, so the per-run ratios (servers taking turns) show the spread.
    per_run = {}
    for r in runs:
        if r["case"] == "echo" and r["label"] in ("ngx_ws_proxy", "nginx_tunnel"):
            per_run.setdefault((r["pipeline"], r["run"]), {})[r["label"]] = r
    lines = []
    for pipeline in sorted({p for p, _ in per_run}):
        rate, cpu = [], []
        for (p, n), pair in sorted(per_run.items()):
            if p != pipeline or len(pair) != 2:
                continue
            a, b = pair["ngx_ws_proxy"], pair["nginx_tunnel"]
            rate.append(a["rate"] / b["rate"])
            cpu.append((a["server_cpu"] / a["rate"]) / (b["server_cpu"] / b["rate"]))
        if rate:
            lines.append(f"| echo, {pipeline} in flight | {' '.join(f'{x:.2f}' for x in rate)}"
                         f" | {' '.join(f'{x:.2f}' for x in cpu)} |")
    if lines:
        out += ["", "Ratios run by run (ngx_ws over the tunnel, runs 1 to N):", "",
                "| echo | round trips | NGINX CPU per round trip |", "|---|---|---|"] + lines
    print("\n".join(out))


if __name__ == "__main__":
    main()
