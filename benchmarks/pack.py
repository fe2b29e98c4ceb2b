"""Repository packing on this machine's real repositories: resolution, order, engines, speed.

Corpus: python-env:// (the standard library as one repository, every installed
distribution as another), files decoded as UTF-8 and tagged by rules/languages.yaml,
repositories taken whole in plan order up to --limit-mb. Figures, one per line:

- import statements found and the share resolved to a file of the same repository,
  overall and per language; for Python also the share among imports that name the
  repository's own top-level packages or are relative (the ones that should resolve);
- order: the share of resolved intra-repository edges whose target (the imported file)
  precedes the importer, over all edges, over edges not inside a cycle (their two files
  are in different strongly connected components), and over connected subgraphs with no
  cycle at all (where Algorithm 1 is a topological sort);
- tree-sitter against regular expressions (the paper's method): share of tree-sitter's
  import statements the regexes also find and the reverse, and the Jaccard of the two
  resolved edge sets;
- speed, on one core (process time): files/s of import extraction + resolution + order +
  sample building (`pack_repository`), with each engine.

Usage: python benchmarks/pack.py [--limit-mb 40]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace

from stackpipe.languages.detect import LanguageDetector
from stackpipe.packing.order import component_ranks, dependency_order
from stackpipe.packing.sample import analyse_repository, dependency_edges, pack_repository
from stackpipe.records import FileRecord, RawFile, record_id
from stackpipe.rules import load_rules
from stackpipe.sources import plan_inputs, read_unit


def repositories(limit_bytes: int) -> dict[str, list[FileRecord]]:
    """python-env:// repositories, whole, in plan order, until `limit_bytes` of text."""
    rules = load_rules()
    detector = LanguageDetector(rules.languages)
    repos: dict[str, list[FileRecord]] = {}
    total = 0
    for unit in plan_inputs(["python-env://"], rules.sources):
        files = []
        for item in read_unit(unit, rules.sources):
            if not isinstance(item, RawFile) or b"\x00" in item.data:
                continue
            try:
                text = item.data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            language = detector.detect(item.path, text)
            if language is None:
                continue
            files.append(FileRecord(id=record_id(item.source, item.repo, item.path), repo=item.repo, path=item.path,
                                    language=language, content=text, size_bytes=len(item.data), source=item.source))
        if files:
            repos[unit.repo] = files
            total += sum(f.size_bytes for f in files)
            if total >= limit_bytes:
                break
    return repos


def python_should_resolve(spec, paths: set[str]) -> bool:
    """A relative import, or an absolute one whose first name is a top-level module or package here."""
    if spec.level:
        return True
    head = spec.name.split(".")[0]
    return f"{head}.py" in paths or f"{head}/__init__.py" in paths


def order_shares(paths: list[str], edges: list[tuple[str, str]], cycle_aware: bool) -> tuple[Counter, Counter]:
    """(edges counted, edges in order) by scope: all, acyclic_edges, acyclic_subgraphs."""
    subgraphs = dependency_order(paths, edges, cycle_aware=cycle_aware)
    position = {p: i for i, p in enumerate(p for subgraph in subgraphs for p in subgraph)}
    dependents = defaultdict(list)
    for a, b in edges:
        dependents[a].append(b)
    rank = component_ranks(paths, dependents)
    cyclic_subgraph = {}
    sizes = Counter(rank.values())
    for subgraph in subgraphs:
        has_cycle = any(sizes[rank[p]] > 1 for p in subgraph)
        cyclic_subgraph.update(dict.fromkeys(subgraph, has_cycle))
    total, good = Counter(), Counter()
    for a, b in edges:
        ok = position[a] < position[b]
        scopes = ["all"]
        if rank[a] != rank[b]:
            scopes.append("acyclic_edges")
        if not cyclic_subgraph[a]:
            scopes.append("acyclic_subgraphs")
        for scope in scopes:
            total[scope] += 1
            good[scope] += ok
    return total, good


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit-mb", type=float, default=40.0, help="text megabytes of python-env:// to read")
    args = parser.parse_args()
    rules = load_rules().pack
    repos = repositories(int(args.limit_mb * 1e6))
    files = sum(len(r) for r in repos.values())
    size_mb = sum(f.size_bytes for r in repos.values() for f in r) / 1e6
    languages = Counter(f.language for r in repos.values() for f in r)
    print(f"corpus: {len(repos):,} repositories, {files:,} files, {size_mb:,.1f} MB from python-env:// ({sys.prefix}); "
          f"top languages: {', '.join(f'{k} {v:,}' for k, v in languages.most_common(8))}")

    found, resolved = Counter(), Counter()
    own_found = own_resolved = 0
    total, good = Counter(), Counter()
    ts_specs = rx_specs = common_specs = 0
    edge_union = edge_common = 0
    for repo, records in repos.items():
        triples = sorted((r.path, r.language, r.content) for r in records)
        paths = {p for p, _, _ in triples}
        tree = analyse_repository(triples, rules, engine="tree_sitter")
        regex = analyse_repository(triples, rules, engine="regex")
        for f in tree:
            for spec, targets in zip(f.imports, f.targets):
                found[f.language] += 1
                resolved[f.language] += bool(targets)
                if f.language == "Python" and python_should_resolve(spec, paths):
                    own_found += 1
                    own_resolved += bool(targets)
        for t, r in zip(tree, regex):
            a, b = Counter(t.imports), Counter(r.imports)
            ts_specs += sum(a.values())
            rx_specs += sum(b.values())
            common_specs += sum((a & b).values())
        edges = dependency_edges(tree)
        regex_edges = set(dependency_edges(regex))
        edge_union += len(set(edges) | regex_edges)
        edge_common += len(set(edges) & regex_edges)
        for cycle_aware in (True, False):
            t, g = order_shares(sorted(paths), edges, cycle_aware)
            total.update({(cycle_aware, k): v for k, v in t.items()})
            good.update({(cycle_aware, k): v for k, v in g.items()})

    statements = sum(found.values())
    print(f"import statements (tree-sitter): {statements:,}; resolved to a repository file: "
          f"{sum(resolved.values()) / max(statements, 1):.4f}")
    for language, count in found.most_common(12):
        print(f"  {language}: {count:,} statements, resolved {resolved[language] / count:.4f}")
    print(f"Python imports of the repository's own packages or relative: {own_found:,}; resolved "
          f"{own_resolved / max(own_found, 1):.4f}")
    for cycle_aware, rule in ((True, "cycle-aware (default)"), (False, "the paper's rule as written")):
        for scope, label in (("all", "all resolved edges"), ("acyclic_edges", "edges not inside a cycle"),
                             ("acyclic_subgraphs", "edges of connected subgraphs without a cycle")):
            key = (cycle_aware, scope)
            print(f"order, {rule}, {label}: {total[key]:,} edges, target precedes importer "
                  f"{good[key] / max(total[key], 1):.4f}")
    print(f"tree-sitter statements also found by regex: {common_specs / max(ts_specs, 1):.4f}; "
          f"regex statements also found by tree-sitter: {common_specs / max(rx_specs, 1):.4f} "
          f"({ts_specs:,} vs {rx_specs:,})")
    print(f"resolved edge sets, tree-sitter vs regex: Jaccard {edge_common / max(edge_union, 1):.4f}")

    for engine in ("tree_sitter", "regex"):
        engine_rules = replace(rules, engine=engine)
        analyse_repository([("warm.py", "Python", "import os\n")], engine_rules)  # grammars built outside the timing
        started = time.process_time()
        samples = 0
        for repo, records in repos.items():
            samples += len(pack_repository(repo, records, engine_rules)[0])
        seconds = time.process_time() - started
        print(f"pack_repository with {engine}, 1 core: {files / seconds:,.0f} files/s, {size_mb / seconds:,.1f} MB/s "
              f"({samples:,} samples of at most {rules.max_chars:,} chars)")


if __name__ == "__main__":
    main()
