#!/usr/bin/env python3
"""Turns wsload's JSON records (one per run) into bench/results/latest.md.

Runs of the same workload on the same server are summarised by their median
with the min-max range beside it, so the noise of this machine stays visible.
Ratios are taken between medians of the same file only: a table never mixes
figures from different runs or machines.
"""
import argparse
import json
import os
import platform
import statistics
from datetime import datetime, timezone


def workload_key(run):
    """What makes two runs comparable, apart from the server."""
    return (run["mode"], run["workers"], run["connections"], run["size"],
            round(run.get("target_rate", 0)), run["pipeline"])


class Summary:
    """The runs of one server on one workload."""

    def __init__(self, runs):
        self.runs = runs
        self.first = runs[0]

    def median(self, field):
        return statistics.median(r[field] for r in self.runs)

    def spread(self, field):
        values = [r[field] for r in self.runs]
        return min(values), max(values)

    def notes(self):
        parts = []
        failed = sum(r["connections_failed"] for r in self.runs)
        lost = sum(r["connections_lost"] for r in self.runs)
        if failed:
            parts.append(f"{failed} connection failures over {len(self.runs)} runs")
        if lost:
            parts.append(f"{lost} connections closed during runs")
        errors = sum(r.get("publish_errors", 0) for r in self.runs)
        if errors:
            parts.append(f"{errors} publish errors")
        cpu = self.median("server_cpu")
        if self.first["mode"] in ("echo", "connect") and 0 <= cpu < 0.9 * self.first["workers"]:
            parts.append("server below 90% busy: client-bound or not saturated")
        first_error = next((r["first_error"] for r in self.runs if r["first_error"]), "")
        if first_error:
            parts.append(f"first error: {first_error}")
        return "; ".join(parts)


def fmt(value, digits=0):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def with_range(summary, field, scale=1.0, digits=0):
    low, high = summary.spread(field)
    return (f"{fmt(summary.median(field) / scale, digits)} "
            f"({fmt(low / scale, digits)}–{fmt(high / scale, digits)})")


def ms(summary, field):
    return fmt(summary.median(field) / 1000.0, 1)


def group(runs):
    groups = {}
    for run in runs:
        groups.setdefault((workload_key(run), run["label"]), []).append(run)
    return {key: Summary(rs) for key, rs in groups.items()}


def echo_table(summaries):
    out = ["## Echo (round trips per second)", "",
           "| server | conns | in flight per conn | payload B | round trips/s median (min–max) "
           "| p50 ms | p99 ms | server CPU | client CPU | notes |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for (key, label), s in summaries.items():
        if key[0] != "echo":
            continue
        out.append(f"| {label} | {key[2]} | {key[5]} | {key[3]} | {with_range(s, 'rate')} "
                   f"| {ms(s, 'p50_us')} | {ms(s, 'p99_us')} | {fmt(s.median('server_cpu'), 2)} "
                   f"| {fmt(s.median('client_cpu'), 2)} | {s.notes()} |")
    return out


def fanout_table(summaries):
    out = ["## Fan-out (deliveries per second = messages x subscribers)", "",
           "| server | workers | subscribers | publishes/s asked (achieved) "
           "| deliveries/s median (min–max) | delivered | p50 ms | p99 ms | server CPU | notes |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for (key, label), s in summaries.items():
        if key[0] != "fanout":
            continue
        out.append(f"| {label} | {key[1]} | {key[2]} | {key[4]} ({fmt(s.median('publish_rate'))}) "
                   f"| {with_range(s, 'rate')} | {s.median('delivery_ratio') * 100:.1f}% "
                   f"| {ms(s, 'p50_us')} | {ms(s, 'p99_us')} | {fmt(s.median('server_cpu'), 2)} "
                   f"| {s.notes()} |")
    return out


def idle_table(summaries):
    out = ["## Idle connections (server memory per open WebSocket)", "",
           "| server | conns | B per connection median (min–max) | server Pss before → after, MiB "
           "| notes |",
           "|---|---:|---:|---:|---|"]
    for (key, label), s in summaries.items():
        if key[0] != "idle":
            continue
        out.append(f"| {label} | {key[2]} | {with_range(s, 'bytes_per_connection')} "
                   f"| {fmt(s.median('memory_before_bytes') / 1048576, 1)} → "
                   f"{fmt(s.median('memory_after_bytes') / 1048576, 1)} | {s.notes()} |")
    return out


def connect_table(summaries):
    out = ["## Connect storm (a connection, one request, its answer, reset)", "",
           "| server | at once | handshakes/s median (min–max) | p50 ms | p99 ms | server CPU "
           "| notes |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for (key, label), s in summaries.items():
        if key[0] != "connect":
            continue
        out.append(f"| {label} | {key[2]} | {with_range(s, 'rate')} | {ms(s, 'p50_us')} "
                   f"| {ms(s, 'p99_us')} | {fmt(s.median('server_cpu'), 2)} | {s.notes()} |")
    return out


def find(summaries, label, **want):
    for (key, lab), s in summaries.items():
        if lab != label:
            continue
        fields = dict(zip(("mode", "workers", "connections", "size", "target_rate", "pipeline"),
                          key))
        if all(fields[k] == v for k, v in want.items()):
            yield s


def ratio(a, b):
    return a / b if a and b else None


def kept_up(summary):
    """Delivered (nearly) everything published in the window, in time."""
    return summary.median("delivery_ratio") >= 0.99


def p99_text(summary):
    if kept_up(summary):
        return f"{ms(summary, 'p99_us')} ms"
    return f"fell behind (delivered {summary.median('delivery_ratio') * 100:.0f}%)"


def fanout_goal_row(ours, theirs, peer):
    """
    At a rate both servers keep up with, both deliver everything: the
    delivery rates are equal by construction and the latency decides. At a
    rate one of them cannot follow, the delivery rate shows capacity, and a
    server that fell behind has no meaningful p99 (its late messages are
    not counted): it loses on latency.
    """
    f = ours.first
    r = ratio(ours.median("rate"), theirs.median("rate"))
    if kept_up(ours) and kept_up(theirs):
        # the same deliveries/s: the ratio shown is of p99 (lower is better)
        r = ratio(ours.median("p99_us"), theirs.median("p99_us"))
        met = r is not None and r <= 1
        goal = (f"Fan-out p99 ≤ {peer}'s at a rate both keep up with (ratio of p99)"
                if peer == "nchan" else "Fan-out p99 vs Node ws, both keep up (no goal)")
    else:
        met = r is not None and r >= 2 and kept_up(ours)
        goal = (f"Fan-out deliveries/s ≥ 2x {peer}, p99 ≤ {peer}'s"
                if peer == "nchan" else "Fan-out vs Node ws (no goal)")
    if peer != "nchan":
        met = True
    verdict = "n/a" if r is None else ("met" if met else "not met")
    return (f"| {goal} | {fmt(r, 2) + 'x' if r is not None else 'n/a'} | {verdict} "
            f"| {f['connections']} subscribers, {f['target_rate']:.0f} msg/s, "
            f"{f['workers']} worker(s); p99 {p99_text(ours)} vs {p99_text(theirs)} |")


def goals(summaries):
    """Each goal the benchmark checks, with the measured ratio of medians."""
    rows = []

    def row(goal, value, met, detail):
        verdict = "n/a" if value is None else ("met" if met else "not met")
        rows.append(f"| {goal} | {fmt(value, 2) + 'x' if value is not None else 'n/a'} "
                    f"| {verdict} | {detail} |")

    for ours in find(summaries, "ngx_ws", mode="echo", workers=1):
        for peer in ("node_ws", "nginx_proxy_node"):
            for theirs in find(summaries, peer, mode="echo", connections=ours.first["connections"],
                               size=ours.first["size"], pipeline=ours.first["pipeline"]):
                r = ratio(ours.median("rate"), theirs.median("rate"))
                goal = "Echo round trips/s ≥ 4x Node ws" if peer == "node_ws" else \
                    "Echo round trips/s vs NGINX proxy_pass to Node ws (no goal)"
                row(goal, r, r is not None and (peer != "node_ws" or r >= 4),
                    f"{ours.first['connections']} conns, {ours.first['size']} B, "
                    f"{ours.first['pipeline']} in flight per connection")

    # the frame-aware proxy against NGINX's byte tunnel, both in front of the
    # same Node ws echo (server CPU covers NGINX and Node alike)
    for ours in find(summaries, "ngx_ws_proxy_node", mode="echo", workers=1):
        for theirs in find(summaries, "nginx_proxy_node", mode="echo",
                           connections=ours.first["connections"], size=ours.first["size"],
                           pipeline=ours.first["pipeline"]):
            detail = (f"{ours.first['connections']} conns, {ours.first['size']} B, "
                      f"{ours.first['pipeline']} in flight per connection")
            r = ratio(ours.median("rate"), theirs.median("rate"))
            row("Proxy round trips/s ≥ 0.95x NGINX proxy_pass tunnel", r,
                r is not None and r >= 0.95, detail)
            cpu_ours = ours.median("server_cpu") / max(ours.median("rate"), 1e-9)
            cpu_theirs = theirs.median("server_cpu") / max(theirs.median("rate"), 1e-9)
            r = ratio(cpu_ours, cpu_theirs)
            row("Proxy server CPU per message ≤ 1.5x NGINX tunnel's (NGINX + Node)", r,
                r is not None and r <= 1.5, detail)

    for ours in find(summaries, "ngx_ws_proxy_node", mode="idle"):
        for theirs in find(summaries, "nginx_proxy_node", mode="idle",
                           connections=ours.first["connections"]):
            r = ratio(ours.median("bytes_per_connection"),
                      theirs.median("bytes_per_connection"))
            row("Idle memory per proxied connection ≤ NGINX proxy_pass's (Node included)",
                r, r is not None and r <= 1.0,
                f"{ours.first['connections']} connections")

    for ours in find(summaries, "ngx_ws_wss", mode="echo", workers=1):
        for theirs in find(summaries, "nginx_tls_proxy_node", mode="echo",
                           connections=ours.first["connections"], size=ours.first["size"],
                           pipeline=ours.first["pipeline"]):
            r = ratio(ours.median("rate"), theirs.median("rate"))
            row("Echo over TLS vs NGINX TLS + proxy_pass to Node ws (no goal)", r,
                r is not None, f"{ours.first['connections']} conns, {ours.first['size']} B, "
                f"{ours.first['pipeline']} in flight per connection, wss://")

    for ours in find(summaries, "ngx_ws", mode="fanout"):
        f = ours.first
        for peer in ("nchan", "node_ws"):
            for theirs in find(summaries, peer, mode="fanout", workers=f["workers"],
                               connections=f["connections"],
                               target_rate=round(f["target_rate"])):
                rows.append(fanout_goal_row(ours, theirs, peer))

    for ours in find(summaries, "ngx_ws", mode="idle"):
        per_conn = ours.median("bytes_per_connection")
        r = ratio(per_conn, 1024)
        row("Idle memory per ws:// connection ≤ 1 KiB (ratio to 1 KiB)", r,
            r is not None and r <= 1.0, f"{fmt(per_conn, 0)} B")
        for peer, limit in (("nchan", 0.5), ("node_ws", None)):
            for theirs in find(summaries, peer, mode="idle",
                               connections=ours.first["connections"]):
                r = ratio(ours.median("bytes_per_connection"),
                          theirs.median("bytes_per_connection"))
                goal = (f"Idle memory per connection ≤ 0.5x {peer}" if limit
                        else f"Idle memory per connection vs {peer} (no goal; lower is better)")
                row(goal, r, r is not None and (limit is None or r <= limit),
                    f"{fmt(ours.median('bytes_per_connection') / 1024, 1)} KiB vs "
                    f"{fmt(theirs.median('bytes_per_connection') / 1024, 1)} KiB")

    for ours in find(summaries, "ngx_ws", mode="connect"):
        for theirs in find(summaries, "nginx_204", mode="connect"):
            r = ratio(ours.median("rate"), theirs.median("rate"))
            row("Connect storm ≥ 0.5x NGINX `return 204` (keep-alive off)", r,
                r is not None and r >= 0.5, f"{ours.first['connections']} at once")
    if not rows:
        return []
    return ["## Ratios of medians and the goals", "",
            "| goal | ngx_ws / peer | verdict | detail |", "|---|---:|---|---|", *rows]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("jsonl")
    parser.add_argument("--command", default="bench/run.sh")
    parser.add_argument("--cpus", default="")
    args = parser.parse_args()
    runs = [json.loads(line) for line in open(args.jsonl) if line.strip()]
    summaries = group(runs)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"# ngx_ws benchmark ({now})", "",
           f"Host: {platform.node()}, {os.cpu_count()} CPUs, Linux {platform.release()}; "
           f"client and server on the same host over loopback; {args.cpus}. "
           f"Each figure is the median of {max(len(s.runs) for s in summaries.values())} runs "
           f"with the min–max range. Command: `{args.command}`.", ""]
    for table in (goals(summaries), echo_table(summaries), fanout_table(summaries),
                  idle_table(summaries), connect_table(summaries)):
        if len(table) > 4:
            out.extend(table)
            out.append("")
    out.append("Echo: a round trip is a binary message sent and echoed; with 1 in flight each "
               "message is its own TCP segment both ways, with more the server may read and "
               "write several per system call. Fan-out: latency runs from the publisher's timestamp in the payload "
               "(taken just before the POST is written) to the subscriber's read, "
               "CLOCK_MONOTONIC on both sides; `delivered` is deliveries over published x "
               "subscribers. Idle: Pss summed over the server's processes, after the "
               "connections settled, minus before they opened (after a few warm-up connections "
               "had opened and closed, `IDLE_WARM_UP`), over the connections. Connect: "
               "TCP connect, upgrade request (or GET), response head, reset.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
