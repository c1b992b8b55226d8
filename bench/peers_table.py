#!/usr/bin/env python3
"""Turns the peers workload's records (bench/run.sh, results/peers.jsonl)
into results/peers.md: ngx_ws against uWebSockets per server-CPU-second.

Neither server is saturated in every case (one message in flight per
connection leaves it waiting on the client), so throughput alone would
compare the client. Messages (or deliveries) per second of server CPU
measure the server's own cost; the median is over the runs, and the ratio
is ngx_ws's median over the peer's, from the same file only.
"""
import json
import statistics
import sys


def key(run):
    return (run["mode"], run["connections"], run["size"],
            run.get("max_in_flight", 0), run.get("deflate", ""))


def paced_key(run):
    return (run["paced"], run["connections"], run["size"])


def ms(us):
    return f"{us / 1000:.1f}"


def paced_table(runs, labels, peers):
    """Fan-out at one publish rate on every server: latency and CPU at the
    same load, where the flat-out rows' latency is how far the client
    fell behind the faster server."""
    groups = {}
    for run in runs:
        groups.setdefault(paced_key(run), {}).setdefault(run["label"], []).append(run)
    head = ["subscribers", "bytes", "publishes/s"]
    for label in labels:
        head += [f"{label} CPU", f"{label} p50 ms", f"{label} p99 ms", f"{label} delivered"]
    head += [f"ngx_ws / {p} p99" for p in peers]
    out = ["", "## Fan-out at the same publish rate", "",
           "Both servers get the same publishes per second (up to 64 in flight),"
           " well below what either delivers flat out. Latency runs from the"
           " publisher's timestamp to the subscriber's read; a p99 ratio"
           " below 1 is ngx_ws's lower. CPU is the server's cores busy"
           " (lower: less work for the same deliveries).", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in sorted(groups, key=lambda k: (k[2], k[1], k[0])):
        rate, conns, size = k
        row = [f"{conns:,}", f"{size:,}", f"{rate:,}"]
        p99 = {}
        for label in labels:
            rs = groups[k].get(label)
            if not rs:
                row += ["", "", "", ""]
                continue
            p99[label] = statistics.median(r["p99_us"] for r in rs)
            row += [f"{statistics.median(r['server_cpu'] for r in rs):.2f}",
                    ms(statistics.median(r["p50_us"] for r in rs)), ms(p99[label]),
                    f"{min(r['delivery_ratio'] for r in rs):.4f}"]
        for peer in peers:
            row.append(f"**{p99['ngx_ws'] / p99[peer]:.2f}x**"
                       if p99.get("ngx_ws") and p99.get(peer) else "")
        out.append("| " + " | ".join(row) + " |")
    return out


def per_cpu(run):
    rate = run["rate"]
    return rate / run["server_cpu"] if run["server_cpu"] > 0 else 0.0


def connect_table(runs, labels, peers):
    """Handshakes: the goal is per second; per CPU-second beside it,
    since the client may be what limits the rate."""
    groups = {}
    for run in runs:
        groups.setdefault(run["concurrency"], {}).setdefault(run["label"], []).append(run)
    head = ["at once"]
    for label in labels:
        head += [f"{label} /s", f"{label} CPU", f"{label} /CPU-s", f"{label} p99 ms"]
    for p in peers:
        head += [f"ngx_ws / {p} per s", f"ngx_ws / {p} per CPU-s"]
    out = ["", "## Handshakes", "",
           "A connection, its upgrade request and the 101, then a reset; medians"
           " of the runs.", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for conc in sorted(groups):
        row = [f"{conc}"]
        rate, cpu_rate = {}, {}
        for label in labels:
            rs = groups[conc].get(label)
            if not rs:
                row += ["", "", "", ""]
                continue
            rate[label] = statistics.median(r["rate"] for r in rs)
            cpu_rate[label] = statistics.median(per_cpu(r) for r in rs)
            row += [f"{rate[label]:,.0f}",
                    f"{statistics.median(r['server_cpu'] for r in rs):.2f}",
                    f"{cpu_rate[label]:,.0f}",
                    ms(statistics.median(r["p99_us"] for r in rs))]
        for peer in peers:
            if rate.get("ngx_ws") and rate.get(peer) and cpu_rate.get(peer):
                row += [f"**{rate['ngx_ws'] / rate[peer]:.2f}x**",
                        f"{cpu_rate['ngx_ws'] / cpu_rate[peer]:.2f}x"]
            else:
                row += ["", ""]
        out.append("| " + " | ".join(row) + " |")
    return out


def main():
    runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    labels = sorted({run["label"] for run in runs}, key=lambda l: l != "ngx_ws")
    paced = [run for run in runs if "paced" in run]
    connects = [run for run in runs if run["mode"] == "connect"]
    runs = [run for run in runs if "paced" not in run and run["mode"] != "connect"]
    groups = {}
    for run in runs:
        groups.setdefault(key(run), {}).setdefault(run["label"], []).append(run)
    peers = [l for l in labels if l != "ngx_ws"]
    head = ["workload", "conns", "bytes"]
    for label in labels:
        head += [f"{label} /s", f"{label} CPU", f"{label} /CPU-s", f"{label} p99 ms"]
    head += [f"ngx_ws / {p} per CPU-s" for p in peers]
    out = ["# ngx_ws against its peers, per server-CPU-second", "",
           "Echo: round trips, one message in flight per connection. Fan-out:"
           " deliveries (messages x subscribers), publishes as fast as the"
           " publisher's answers allow with N in flight. Medians of the runs;"
           " /CPU-s is throughput over the server's CPU (cores busy).", "",
           "| " + " | ".join(head) + " |",
           "|" + "---|" * len(head)]
    for k in sorted(groups, key=lambda k: (k[0] != "echo", k[4], k[2], k[1], k[3])):
        mode, conns, size, inflight, deflate = k
        by_label = groups[k]
        name = mode if mode == "echo" else f"fanout, {inflight} in flight"
        if deflate:
            name += f", deflate {deflate}"
        row = [name, f"{conns:,}", f"{size:,}"]
        medians = {}
        for label in labels:
            rs = by_label.get(label)
            if not rs:
                row += ["", "", "", ""]
                continue
            medians[label] = statistics.median(per_cpu(r) for r in rs)
            row += [f"{statistics.median(r['rate'] for r in rs):,.0f}",
                    f"{statistics.median(r['server_cpu'] for r in rs):.2f}",
                    f"{medians[label]:,.0f}",
                    f"{statistics.median(r['p99_us'] for r in rs) / 1000:.1f}"]
        for peer in peers:
            if "ngx_ws" in medians and medians.get(peer):
                row.append(f"**{medians['ngx_ws'] / medians[peer]:.2f}x**")
            else:
                row.append("")
        out.append("| " + " | ".join(row) + " |")
    if paced:
        out += paced_table(paced, labels, peers)
    if connects:
        out += connect_table(connects, labels, peers)
    print("\n".join(out))


main()
