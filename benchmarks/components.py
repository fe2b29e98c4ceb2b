"""Connected components on Beam at dedup scale: wall time, rounds, remainder, peak RSS.

Graph: what LSH bucketing of near-duplicate files emits. Clusters with sizes from a
power law (Pareto, alpha 2.2, 2 to 5,000 members), each a star on a random member (a
bucket's edges) plus a few cross links (the same files meeting in other bands), and a
few long chains in random id order (the hard case for label propagation). Ids are
random 16-hex-digit strings. Edges are generated inside the pipeline, shard by shard, so
the driver never holds the graph.

Each configuration runs in a fresh process, so peak RSS is that run's alone: RUSAGE_SELF
is the runner process (in-process: runner and worker together; FnApiRunner keeps every
shuffled PCollection in the runner's memory), and the largest worker's VmHWM with
`--workers N` (RUSAGE_CHILDREN printed beside it). FnApiRunner gives each worker one
bundle of a stage's whole input (edges / N), and a worker's peak follows that bundle's
size, as it does for a bare GroupByKey; what LabelComponents itself holds per key is one
node's neighbours or one star's leaves. One line per figure.

Runs: in-process at the largest size, then each --workers count at every size.

Usage: python benchmarks/components.py [--nodes 250000 1000000] [--workers 2] [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

CHAINS = 4
CHAIN_LENGTH = 5_000
SHARDS = 64


def cluster_sizes(rng: random.Random, alpha: float = 2.2, largest: int = 5_000):
    while True:
        yield min(largest, int(2 / (1 - rng.random()) ** (1 / (alpha - 1))))


def shard_edges(shard: int, nodes: int, seed: int):
    """The edges of one shard's clusters (shard 0 also holds the long chains)."""
    rng = random.Random(seed * 100_003 + shard)
    new_id = lambda: f"{rng.getrandbits(64):016x}"  # noqa: E731
    if shard == 0:
        for _ in range(CHAINS):
            chain = [new_id() for _ in range(CHAIN_LENGTH)]
            yield from zip(chain, chain[1:])
    budget = (nodes - CHAINS * CHAIN_LENGTH) // SHARDS
    sizes = cluster_sizes(rng)
    while budget >= 2:
        members = [new_id() for _ in range(min(next(sizes), budget))]
        budget -= len(members)
        centre = rng.choice(members)
        yield from ((centre, m) for m in members if m != centre)
        for _ in range(len(members) // 4):
            yield (rng.choice(members), rng.choice(members))


class WorkerPeaks:
    """Peak RSS (VmHWM) of each process below this one, polled until stopped.

    ru_maxrss of RUSAGE_CHILDREN is no use here: a worker started with vfork/fork+exec
    from a large runner inherits the runner's high-water mark. VmHWM belongs to the
    worker's own address space, and it only grows, so the last reading is its peak up
    to then.
    """

    def __init__(self, interval_s: float = 0.2):
        self.peak_kib: dict[int, int] = {}
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _poll(self):
        while not self._stop.wait(self._interval):
            for pid in descendants(os.getpid()):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kib[pid] = max(self.peak_kib.get(pid, 0), int(line.split()[1]))


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def run_one(nodes: int, workers: int, rounds: int, seed: int) -> dict:
    import apache_beam as beam
    from apache_beam.metrics import Metrics
    from apache_beam.metrics.metric import MetricsFilter

    from stackpipe.beam.components import NAMESPACE, LabelComponents
    from stackpipe.beam.options import make_pipeline

    class CountEdges(beam.DoFn):
        def start_bundle(self):
            self.edges = 0

        def process(self, edge):
            self.edges += 1
            yield edge

        def finish_bundle(self):
            Metrics.counter("bench", "edges").inc(self.edges)

    class CountLabels(beam.DoFn):
        def start_bundle(self):
            self.nodes = self.components = 0

        def process(self, labelled):
            node, label = labelled
            self.nodes += 1
            self.components += node == label

        def finish_bundle(self):
            Metrics.counter("bench", "nodes").inc(self.nodes)
            Metrics.counter("bench", "components").inc(self.components)

    pipeline = make_pipeline([], workers)
    (
        pipeline
        | "Shards" >> beam.Create(range(SHARDS))
        | "Reshuffle" >> beam.Reshuffle()
        | "Generate" >> beam.FlatMap(shard_edges, nodes, seed)
        | "CountEdges" >> beam.ParDo(CountEdges())
        | LabelComponents(rounds=rounds)
        | "CountLabels" >> beam.ParDo(CountLabels())
    )
    with WorkerPeaks() as workers_seen:
        started = time.perf_counter()
        result = pipeline.run()
        result.wait_until_finish()
        wall = time.perf_counter() - started

    def counter(namespace, name):
        found = result.metrics().query(MetricsFilter().with_namespace(namespace).with_name(name))["counters"]
        return sum(c.committed for c in found)

    changed = [counter(NAMESPACE, f"round_{r:02d}_changed") for r in range(1, rounds + 1)]
    return {
        "nodes": counter("bench", "nodes"),
        "edges": counter("bench", "edges"),
        "components": counter("bench", "components"),
        "wall_s": wall,
        "rounds_used": sum(1 for c in changed if c),
        "remainder_edges": counter(NAMESPACE, "remainder_edges"),
        # ru_maxrss and VmHWM are in KiB on Linux.
        "rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "rss_worker_mb": max(workers_seen.peak_kib.values(), default=0) / 1024,
        "worker_processes": len(workers_seen.peak_kib),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[250_000, 1_000_000],
                        help="graph sizes for the multi-worker runs; the in-process run uses the largest")
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child run
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.nodes[0], args.workers[0], args.rounds, args.seed)))
        return
    configs = [(1, max(args.nodes))] + [(w, n) for w in args.workers if w > 1 for n in sorted(args.nodes)]
    worker_peaks: dict[int, list[tuple[int, float]]] = {}
    for workers, nodes in configs:
        child = subprocess.run(
            [sys.executable, __file__, "--one", "--nodes", str(nodes), "--workers", str(workers),
             "--rounds", str(args.rounds), "--seed", str(args.seed)],
            check=True, capture_output=True, text=True,
        )
        r = json.loads(child.stdout.strip().splitlines()[-1])
        where = "in-process" if workers == 1 else f"{workers} workers"
        tag = f"LabelComponents {where}, {r['nodes']:,} nodes / {r['edges']:,} edges"
        print(f"{tag}: wall time {r['wall_s']:,.1f} s, {r['nodes'] / r['wall_s']:,.0f} nodes/s")
        print(f"{tag}: {r['components']:,} components, rounds with changes {r['rounds_used']} of "
              f"{args.rounds}, remainder {r['remainder_edges']:,} edges")
        print(f"{tag}: peak RSS runner process {r['rss_self_mb']:,.0f} MB")
        if workers > 1:
            print(f"{tag}: peak RSS largest worker process {r['rss_worker_mb']:,.0f} MB "
                  f"(RUSAGE_CHILDREN {r['rss_children_mb']:,.0f} MB)")
            worker_peaks.setdefault(workers, []).append((r["edges"], r["rss_worker_mb"]))
    for workers, peaks in worker_peaks.items():
        (e0, m0), (e1, m1) = peaks[0], peaks[-1]
        if e1 > e0:
            print(f"LabelComponents {workers} workers: edges x{e1 / e0:.1f} -> largest worker peak RSS "
                  f"x{m1 / m0:.2f} ({m0:,.0f} -> {m1:,.0f} MB)")


if __name__ == "__main__":
    main()
