"""Independent PII redaction evaluation (spec: benchmarks/evalsets/SPEC.md §1).

Scores `PiiRedactor.find` on secrets, passwords, e-mails and IPs planted into real files of
this machine's Python installation, on decoys that must not be reported, and on unchanged
real files (false positives per MB), for the dev and heldout splits (split by a hash of the
host path). The heldout split must never be used for tuning.

Usage: python benchmarks/eval_pii.py [--files 600] [--clean-mb 8] [--seed 0] [--split both]
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import hashlib
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.evalsets import hosts as H  # noqa: E402
from benchmarks.evalsets import pii_gen as G  # noqa: E402


def _overlaps(f, s) -> bool:
    return f.start < s.end and s.start < f.end


def _covered(findings, s) -> int:
    iv = sorted((max(f.start, s.start), min(f.end, s.end)) for f in findings if _overlaps(f, s))
    total, cur = 0, s.start
    for a, b in iv:
        a = max(a, cur)
        if b > a:
            total += b - a
            cur = b
    return total


def _ctx(text: str, f) -> str:
    a, b = max(0, f.start - 28), min(len(text), f.end + 28)
    s = text[a:f.start] + "«" + f.entity + "»" + text[f.end:b]
    return s.replace("\n", "⏎").replace("\r", "")


def score_split(redactor, split: str, args) -> None:
    tag = f"pii {split}"
    cases = G.generate(split, args.seed, args.files)
    found = defaultdict(lambda: [0, 0])          # kind -> [hit, n]
    wrong = Counter()                             # kind -> found only under another entity
    cover = defaultdict(lambda: [0, 0])           # kind -> [covered chars, span chars]
    ent = defaultdict(lambda: [0, 0])
    ctx = defaultdict(lambda: [0, 0])
    decoy = defaultdict(lambda: [0, 0])
    decoy_by_entity = Counter()
    nbytes = 0
    cpu = 0.0
    for c in cases:
        t = time.process_time()
        fs = redactor.find(c.text)
        cpu += time.process_time() - t
        nbytes += len(c.text.encode())
        for s in c.spans:
            if s.role == "positive":
                right = [f for f in fs if f.entity == s.entity]
                hit = any(_overlaps(f, s) for f in right)
                found[s.kind][0] += hit
                found[s.kind][1] += 1
                ent[s.entity][0] += hit
                ent[s.entity][1] += 1
                fam = s.context.split("/", 1)[-1]
                ctx[fam][0] += hit
                ctx[fam][1] += 1
                cover[s.kind][0] += _covered(right, s)
                cover[s.kind][1] += s.end - s.start
                if not hit and any(_overlaps(f, s) for f in fs):
                    wrong[s.kind] += 1
            else:
                rep = [f for f in fs if _overlaps(f, s)]
                decoy[s.kind][0] += bool(rep)
                decoy[s.kind][1] += 1
                for f in rep[:1]:
                    decoy_by_entity[f.entity] += 1
    print(f"{tag} planted: {len(cases)} host files, {sum(n for _, n in found.values())} positives, "
          f"{sum(n for _, n in decoy.values())} decoys, {nbytes / 1e6:.2f} MB")
    for kind in sorted(found):
        h, n = found[kind]
        extra = f", wrong entity {wrong[kind]}" if wrong[kind] else ""
        cov = cover[kind][0] / max(1, cover[kind][1])
        print(f"{tag} recall {kind} {h / n:.2f} (n={n}{extra}; chars covered {cov:.2f})")
    for e in sorted(ent):
        h, n = ent[e]
        print(f"{tag} recall entity={e} {h / n:.2f} (n={n})")
    for fam in sorted(ctx):
        h, n = ctx[fam]
        print(f"{tag} recall context={fam} {h / n:.2f} (n={n})")
    H_ = sum(h for h, _ in found.values())
    N_ = sum(n for _, n in found.values())
    cc = sum(c for c, _ in cover.values()) / max(1, sum(n for _, n in cover.values()))
    print(f"{tag} recall overall {H_ / max(1, N_):.2f} (n={N_}; span chars covered {cc:.2f})")
    for kind in sorted(decoy):
        k, n = decoy[kind]
        print(f"{tag} decoys_reported {kind} {k}/{n} ({k / n:.2f})")
    K = sum(k for k, _ in decoy.values())
    N = sum(n for _, n in decoy.values())
    print(f"{tag} decoys_reported overall {K}/{N} ({K / max(1, N):.2f}); reported as: "
          + (", ".join(f"{e}={c}" for e, c in sorted(decoy_by_entity.items())) or "-"))

    # clean real files
    clean = G.clean_files(split, args.seed, int(args.clean_mb * 1e6))
    cbytes, ccpu = 0, 0.0
    per_entity = Counter()
    groups: Counter = Counter()
    example: dict = {}
    files_with = 0
    for key, text in clean:
        t = time.process_time()
        fs = redactor.find(text)
        ccpu += time.process_time() - t
        cbytes += len(text.encode())
        files_with += bool(fs)
        for f in fs:
            per_entity[f.entity] += 1
            g = (f.entity, getattr(f, "kind", ""), hashlib.sha256(text[f.start:f.end].encode()).hexdigest()[:10])
            groups[g] += 1
            example.setdefault(g, (key, _ctx(text, f)))
    mb = cbytes / 1e6
    print(f"{tag} clean files: {len(clean)}, {mb:.2f} MB, files with any finding {files_with} "
          f"({files_with / max(1, len(clean)):.3f})")
    for e in ("email", "ip_address", "key", "password"):
        print(f"{tag} clean findings_per_MB entity={e} {per_entity[e] / max(mb, 1e-9):.1f} (count={per_entity[e]})")
    for e in sorted(set(per_entity) - {"email", "ip_address", "key", "password"}):
        print(f"{tag} clean findings_per_MB entity={e} {per_entity[e] / max(mb, 1e-9):.1f} (count={per_entity[e]})")
    tot = sum(per_entity.values())
    print(f"{tag} clean findings_per_MB overall {tot / max(mb, 1e-9):.1f} (count={tot}; upper bound: real files may hold real PII)")
    for i, (g, n) in enumerate(groups.most_common(20), 1):
        key, c = example[g]
        print(f"{tag} clean top{i:02d} entity={g[0]} kind={g[1]} value_sha={g[2]} count={n} e.g. {key}: {c[:90]!r}")
    total_cpu = ccpu
    print(f"{tag} throughput find MB/s per core (clean files) {mb / max(total_cpu, 1e-9):.2f} "
          f"(planted files {nbytes / 1e6 / max(cpu, 1e-9):.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=600, help="planted host files per split")
    ap.add_argument("--clean-mb", type=float, default=8.0, help="MB of unchanged files per split")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", choices=("dev", "heldout", "both"), default="both")
    args = ap.parse_args()

    from stackpipe.pii import PiiRedactor
    from stackpipe.rules import load_rules

    redactor = PiiRedactor(load_rules().pii)
    print(f"pii eval seed={args.seed} files={args.files} clean_mb={args.clean_mb} (spec: benchmarks/evalsets/SPEC.md)")
    print(H.HELDOUT_WARNING)
    splits = ("dev", "heldout") if args.split == "both" else (args.split,)
    for split in splits:
        t = time.time()
        score_split(redactor, split, args)
        print(f"pii {split} wall_s {time.time() - t:.1f}" + ("   [HELDOUT: report only, never tune on it]" if split == "heldout" else ""))


if __name__ == "__main__":
    main()
