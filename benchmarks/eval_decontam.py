"""Independent benchmark-decontamination evaluation (spec: benchmarks/evalsets/SPEC.md §2).

Scores `Decontaminator.apply` on HumanEval/MBPP problems planted into real `.py` files of
this machine's Python installation in nine variants (must be dropped), on negatives that must
be kept (textbook code written independently, benchmark function names with unrelated
bodies, one benchmark line in unrelated code, common phrases) and on unchanged real files,
for the dev and heldout splits (split by a hash of the host path). The heldout split must
never be used for tuning.

Usage: python benchmarks/eval_decontam.py [--files 60] [--clean-mb 8] [--seed 0] [--split both]
(--files: cases per variant and per negative kind, per split)
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.evalsets import decontam_gen as D  # noqa: E402
from benchmarks.evalsets import hosts as H  # noqa: E402


def _record(path: str, text: str, language: str = "Python"):
    from stackpipe.records import FileRecord, record_id
    return FileRecord(id=record_id("github", "o/r", path), repo="o/r", path=path, language=language,
                      content=text, size_bytes=len(text.encode()), source="github")


def _names_problem(detail: str, pid: str) -> bool:
    """Heuristic: does the rejection detail name the planted problem?"""
    bench, num = pid.split("/")
    if bench == "HumanEval":
        return re.search(rf"\bHumanEval/{num}\b", detail) is not None
    return re.search(rf"\bmbpp\W+{num}\b", detail, re.I) is not None


def score_split(d, detector, split: str, args) -> None:
    from stackpipe.records import Rejected
    tag = f"decontam {split}"
    t0 = time.time()
    pos = D.positives(split, args.seed, args.files)
    neg = D.negatives(split, args.seed, args.files)
    clean = D.clean_files(split, args.seed, int(args.clean_mb * 1e6))
    print(f"{tag} generated: {len(pos)} positives, {len(neg)} planted negatives, {len(clean)} clean files "
          f"({time.time() - t0:.1f}s)")

    def verdict(path, text, language="Python"):
        v = d.apply(_record(path, text, language))
        if isinstance(v, Rejected):
            return True, str(dict(v.record.meta).get("detail", "")) or v.reason
        return False, ""

    by_var = defaultdict(lambda: [0, 0])
    by_bench_var = defaultdict(lambda: [0, 0])
    named = [0, 0]
    for c in pos:
        dropped, detail = verdict(c.host_key, c.text)
        by_var[c.kind][0] += dropped
        by_var[c.kind][1] += 1
        by_bench_var[(c.bench, c.kind)][0] += dropped
        by_bench_var[(c.bench, c.kind)][1] += 1
        if dropped:
            named[0] += _names_problem(detail, c.problem)
            named[1] += 1
    for v in D.VARIANTS:
        h, n = by_var[v]
        print(f"{tag} recall variant={v} {h / max(1, n):.2f} (n={n})")
    for (b, v) in sorted(by_bench_var):
        h, n = by_bench_var[(b, v)]
        print(f"{tag} recall {b}/{v} {h / max(1, n):.2f} (n={n})")
    H_ = sum(h for h, _ in by_var.values())
    N_ = sum(n for _, n in by_var.values())
    print(f"{tag} recall overall {H_ / max(1, N_):.2f} (n={N_})")
    print(f"{tag} dropped positives whose detail names the planted problem {named[0]}/{named[1]} (heuristic)")

    by_kind = defaultdict(lambda: [0, 0])
    listed = []
    for c in neg:
        dropped, detail = verdict(c.host_key, c.text)
        by_kind[c.kind][0] += dropped
        by_kind[c.kind][1] += 1
        if dropped:
            listed.append((c.kind, c.host_key, c.problem, detail))
    for k in D.NEGATIVE_KINDS:
        f, n = by_kind[k]
        print(f"{tag} false_drops negative={k} {f}/{n} ({f / max(1, n):.2f})")
    for kind, key, planted, detail in listed:
        print(f"{tag} false_drop negative={kind} host={key} planted={planted or '-'} detail={detail[:160]!r}")

    drops, cbytes, cpu = [], 0, 0.0
    for key, text in clean:
        lang = "Python" if key.endswith(".py") else (detector.detect(key, text) or "Text")
        t = time.process_time()
        dropped, detail = verdict(key, text, lang)
        cpu += time.process_time() - t
        cbytes += len(text.encode())
        if dropped:
            drops.append((key, lang, detail))
    print(f"{tag} false_drops clean_files {len(drops)}/{len(clean)} ({len(drops) / max(1, len(clean)):.4f}), "
          f"{cbytes / 1e6:.2f} MB")
    for key, lang, detail in drops:
        print(f"{tag} false_drop clean host={key} language={lang} detail={detail[:160]!r}")
    print(f"{tag} throughput apply MB/s per core (clean files) {cbytes / 1e6 / max(cpu, 1e-9):.2f}")
    records = [_record(key, text, "Python" if key.endswith(".py") else "Text") for key, text in clean]
    batches, size = [[]], 0  # as the pipeline stage batches: about 1 MB or 512 files
    for record in records:
        if size >= 1_000_000 or len(batches[-1]) >= 512:
            batches.append([])
            size = 0
        batches[-1].append(record)
        size += record.size_bytes
    t = time.process_time()
    batched = [r for batch in batches for r in d.apply_many(batch)]
    cpu = time.process_time() - t
    same = [isinstance(r, Rejected) for r in batched] == [isinstance(d.apply(r), Rejected) for r in records]
    print(f"{tag} throughput apply_many MB/s per core (clean files, ~1 MB batches as the pipeline stage) "
          f"{cbytes / 1e6 / max(cpu, 1e-9):.2f} (same verdicts as apply: {same})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=60, help="cases per variant and per negative kind, per split")
    ap.add_argument("--clean-mb", type=float, default=8.0, help="MB of unchanged files per split")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", choices=("dev", "heldout", "both"), default="both")
    args = ap.parse_args()

    from stackpipe.decontam import Decontaminator
    from stackpipe.languages import LanguageDetector
    from stackpipe.rules import load_rules

    rules = load_rules()
    d = Decontaminator(rules.decontam)
    t = time.process_time()
    d.setup()
    print(f"decontam eval seed={args.seed} files={args.files} clean_mb={args.clean_mb} "
          f"(spec: benchmarks/evalsets/SPEC.md); setup cpu_s {time.process_time() - t:.2f}")
    print(H.HELDOUT_WARNING)
    detector = LanguageDetector(rules.languages)
    splits = ("dev", "heldout") if args.split == "both" else (args.split,)
    for split in splits:
        t = time.time()
        score_split(d, detector, split, args)
        print(f"decontam {split} wall_s {time.time() - t:.1f}" + ("   [HELDOUT: report only, never tune on it]" if split == "heldout" else ""))


if __name__ == "__main__":
    main()
