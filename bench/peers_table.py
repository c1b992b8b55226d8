#!/usr/bin/env python3
"""Turns the peers workload's records (bench/run.sh, results/peers.jsonl)
into results/peers.md: ngx_ws against uWebSockets per server-CPU-second.

Neither server is saturated in every case (one message in flight per
connection leaves it waiting on the client), so throughput alone would
compare the client. Messages (or deliveries) per second of server CPU
measure the server's own cost; the median is over the runs, and the ratio
is ngx_ws's median over the peer's, from the same file only.

Three tables: echo and fan-out flat out, fan-out at one publish rate on
every server (records with "paced": latency at the same load), and
handshakes (mode "connect").
"""
import json
import statistics
import sys


def per_cpu(run):
    rate = run["rate"]
    return rate / run["server_cpu"] if run["server_cpu"] > 0 else 0.0


def median(runs, field):
    """The median of a record's field, or of a function of the record."""
    return statistics.median(field(r) if callable(field) else r[field] for r in runs)


def ms(us):
    return f"{us / 1000:.1f}"


def group_by(runs, key):
    """{key(run): {label: [runs]}}"""
    groups = {}
    for run in runs:
        groups.setdefault(key(run), {}).setdefault(run["label"], []).append(run)
    return groups


def run_by_run(by_label, peer):
    """The median of ngx_ws's per-CPU figure over the peer's in the same run
    (the two alternate, so a pair shares the machine's phase), and how many
    pairs were at 1.00x or more."""
    ours = {r["run"]: per_cpu(r) for r in by_label.get("ngx_ws", [])}
    theirs = {r["run"]: per_cpu(r) for r in by_label.get(peer, [])}
    pairs = [ours[k] / theirs[k] for k in ours if theirs.get(k)]
    if not pairs:
        return ""
    at_least = sum(p >= 1.0 for p in pairs)
    return f"{statistics.median(pairs):.2f}x ({at_least} of {len(pairs)} >= 1.00x)"


def ratio(values, peer, bold=True):
    """ngx_ws's value over the peer's, or an empty cell."""
    if not values.get("ngx_ws") or not values.get(peer):
        return ""
    text = f"{values['ngx_ws'] / values[peer]:.2f}x"
    return f"**{text}**" if bold else text


class Table:
    """A markdown table whose rows have a cell group per server: cells(runs)
    gives a server's cells, blank where the server has no runs."""

    def __init__(self, labels, lead, per_label, tail):
        self.labels = labels
        self.width = len(per_label)
        head = list(lead)
        for label in labels:
            head += [f"{label} {name}" for name in per_label]
        head += tail
        self.lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def label_cells(self, by_label, cells):
        row = []
        for label in self.labels:
            runs = by_label.get(label)
            row += cells(runs) if runs else [""] * self.width
        return row

    def add(self, row):
        self.lines.append("| " + " | ".join(row) + " |")


def flat_out_table(runs, labels, peers):
    groups = group_by(runs, lambda r: (r["mode"], r["connections"], r["size"],
                                       r.get("max_in_flight", 0), r.get("deflate", "")))
    tail = []
    for p in peers:
        tail += [f"ngx_ws / {p} per CPU-s", f"ngx_ws / {p} run by run"]
    table = Table(labels, ["workload", "conns", "bytes"], ["/s", "CPU", "/CPU-s", "p99 ms"],
                  tail)
    order = lambda k: (k[0] != "echo", k[4], k[2], k[1], k[3])
    for k in sorted(groups, key=order):
        mode, conns, size, inflight, deflate = k
        name = mode if mode == "echo" else f"fanout, {inflight} in flight"
        if deflate:
            name += f", deflate {deflate}"
        per_cpu_medians = {label: median(rs, per_cpu) for label, rs in groups[k].items()}
        row = [name, f"{conns:,}", f"{size:,}"]
        row += table.label_cells(groups[k], lambda rs: [
            f"{median(rs, 'rate'):,.0f}", f"{median(rs, 'server_cpu'):.2f}",
            f"{median(rs, per_cpu):,.0f}", ms(median(rs, 'p99_us'))])
        for peer in peers:
            row += [ratio(per_cpu_medians, peer), run_by_run(groups[k], peer)]
        table.add(row)
    return ["# ngx_ws against its peers, per server-CPU-second", "",
            "Echo: round trips, one message in flight per connection. Fan-out:"
            " deliveries (messages x subscribers), publishes as fast as the"
            " publisher's answers allow with N in flight. Medians of the runs;"
            " /CPU-s is throughput over the server's CPU (cores busy). Run by"
            " run: the median of each run's ratio to the peer's run beside it"
            " (the machine's slow and fast phases outlast a pair of runs), and"
            " how many of the pairs were at 1.00x or more.", ""] + table.lines


def paced_table(runs, labels, peers):
    """Fan-out at one publish rate on every server: latency and CPU at the
    same load, where the flat-out rows' latency is how far the client
    fell behind the faster server."""
    groups = group_by(runs, lambda r: (r["paced"], r["connections"], r["size"]))
    table = Table(labels, ["subscribers", "bytes", "publishes/s"],
                  ["CPU", "p50 ms", "p99 ms", "delivered"],
                  [f"ngx_ws / {p} p99" for p in peers])
    for k in sorted(groups, key=lambda k: (k[2], k[1], k[0])):
        rate, conns, size = k
        p99 = {label: median(rs, "p99_us") for label, rs in groups[k].items()}
        row = [f"{conns:,}", f"{size:,}", f"{rate:,}"]
        row += table.label_cells(groups[k], lambda rs: [
            f"{median(rs, 'server_cpu'):.2f}", ms(median(rs, 'p50_us')),
            ms(median(rs, 'p99_us')), f"{min(r['delivery_ratio'] for r in rs):.4f}"])
        row += [ratio(p99, peer) for peer in peers]
        table.add(row)
    return ["", "## Fan-out at the same publish rate", "",
            "Both servers get the same publishes per second (up to 64 in flight),"
            " well below what either delivers flat out. Latency runs from the"
            " publisher's timestamp to the subscriber's read; a p99 ratio"
            " below 1 is ngx_ws's lower. CPU is the server's cores busy"
            " (lower: less work for the same deliveries).", ""] + table.lines


def connect_table(runs, labels, peers):
    """Handshakes: the goal is per second; per CPU-second beside it,
    since the client may be what limits the rate."""
    groups = group_by(runs, lambda r: r["concurrency"])
    tail = []
    for p in peers:
        tail += [f"ngx_ws / {p} per s", f"ngx_ws / {p} per CPU-s"]
    table = Table(labels, ["at once"], ["/s", "CPU", "/CPU-s", "p99 ms"], tail)
    for conc in sorted(groups):
        rate = {label: median(rs, "rate") for label, rs in groups[conc].items()}
        cpu_rate = {label: median(rs, per_cpu) for label, rs in groups[conc].items()}
        row = [f"{conc}"]
        row += table.label_cells(groups[conc], lambda rs: [
            f"{median(rs, 'rate'):,.0f}", f"{median(rs, 'server_cpu'):.2f}",
            f"{median(rs, per_cpu):,.0f}", ms(median(rs, 'p99_us'))])
        for peer in peers:
            row += [ratio(rate, peer), ratio(cpu_rate, peer, bold=False)]
        table.add(row)
    return ["", "## Handshakes", "",
            "A connection, its upgrade request and the 101, then a reset; medians"
            " of the runs.", ""] + table.lines


def main():
    runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    labels = sorted({run["label"] for run in runs}, key=lambda l: l != "ngx_ws")
    peers = [l for l in labels if l != "ngx_ws"]
    paced = [run for run in runs if "paced" in run]
    connects = [run for run in runs if run["mode"] == "connect"]
    flat_out = [run for run in runs if "paced" not in run and run["mode"] != "connect"]
    out = flat_out_table(flat_out, labels, peers)
    if paced:
        out += paced_table(paced, labels, peers)
    if connects:
        out += connect_table(connects, labels, peers)
    print("\n".join(out))


main()
