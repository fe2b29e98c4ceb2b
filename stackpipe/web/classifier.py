"""The code-page classifier: fastText, trained on seed pages, as DeepSeek-Coder-V2 and
DeepSeekMath (arXiv 2402.03300 §2.1) recall code- and math-related CommonCrawl pages.

A page is shown to the model as one line of lower-cased words and punctuation marks
(`def`, `(`, `self`, `)`, `:` ...): code is told apart by its symbols as much as by its
words. Training is deterministic (one thread, the seed of rules/web.yaml). No model
ships with stackpipe: train one with `stackpipe web train-classifier`, or point
`--model` at a fastText model of your own whose labels rules/web.yaml names.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from typing import Sequence

from stackpipe.records import Drop, FileRecord, Rejected, reject
from stackpipe.rules import ClassifierRules

STAGE = "classify"
_TOKEN = re.compile(r"\w+|[^\w\s]")
CHARS_PER_TOKEN = 16


class ClassifierError(ValueError):
    """A model file that cannot be read, or that does not know the configured label."""


def model_text(text: str, max_tokens: int) -> str:
    """The words of `text` as the model reads them: one line, lower-cased, punctuation
    split off, at most `max_tokens` tokens (taken from the page's first
    `CHARS_PER_TOKEN * max_tokens` characters, so a huge page costs no more than a big one)."""
    head = text[: max_tokens * CHARS_PER_TOKEN].lower()
    return " ".join(_TOKEN.findall(head)[:max_tokens])


def load_model(path: str, rules: ClassifierRules):
    """Load a fastText model from a local path or any URI (copied to a local temporary
    file first: fastText reads paths only) and check that it knows `rules.label`."""
    import fasttext

    local, temporary = _local_copy(path)
    try:
        try:
            model = fasttext.load_model(local)
        except (ValueError, RuntimeError) as error:
            raise ClassifierError(f"model {path!r} is not a fastText model: {error}") from None
    finally:
        if temporary:
            os.unlink(local)
    labels = model.get_labels()
    if rules.label not in labels:
        raise ClassifierError(f"model {path!r} has no label {rules.label!r} (its labels: {', '.join(labels)}); "
                              f"set classifier.label in rules/web.yaml")
    return model


def _local_copy(path: str) -> tuple[str, bool]:
    if "://" not in path or path.startswith("file://"):
        local = path[len("file://"):] if path.startswith("file://") else path
        if not os.path.isfile(local):
            raise ClassifierError(f"model file {path!r} does not exist")
        return local, False
    from stackpipe.sources.storage import open_raw

    with open_raw(path) as source, tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as target:
        shutil.copyfileobj(source, target)
    return target.name, True


def scores(model, texts: Sequence[str], rules: ClassifierRules) -> list[float]:
    """Probability of `rules.label` for each text."""
    lines = [model_text(t, rules.max_tokens) for t in texts]
    # k=-1: every label, so the probability of ours is there even when it is not the top one.
    labels, probabilities = model.predict(lines, k=-1)  # a list: fastText 0.9.3 fails on a str under numpy 2
    result = []
    for names, values in zip(labels, probabilities):
        result.append(next((float(p) for n, p in zip(names, values) if n == rules.label), 0.0))
    return result


class ClassifyPages:
    """classify: drop pages whose score is below the threshold (`low_score`); the score
    goes to `meta["classifier_score"]`. The model loads once per worker (setup)."""

    def __init__(self, rules: ClassifierRules, model_path: str):
        self._rules = rules
        self._path = model_path
        self._model = None

    def setup(self) -> None:
        self._model = load_model(self._path, self._rules)

    def __call__(self, record: FileRecord) -> FileRecord | Rejected:
        if self._model is None:
            self.setup()
        score = scores(self._model, [record.content], self._rules)[0]
        record = replace(record, meta={**record.meta, "classifier_score": f"{score:.4f}"})
        if score < self._rules.threshold:
            return reject(record, STAGE, Drop("low_score", f"P({self._rules.label})={score:.4f} < "
                                                           f"threshold {self._rules.threshold}"))
        return record


# --- training ------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A training page: an id (URL or file), its domain (for recall rounds), its text."""

    id: str
    domain: str
    text: str


def train(positives: Sequence[Page], negatives: Sequence[Page], rules: ClassifierRules, output: str):
    """Train on `positives` vs `negatives` and save the model to `output` (atomically);
    returns the model. Negatives are sampled (seeded) down to
    `max_negatives_per_positive` times the positives."""
    if not positives or not negatives:
        raise ClassifierError(f"training needs positive and negative pages, got {len(positives)} positives and "
                              f"{len(negatives)} negatives")
    settings = rules.train
    rng = random.Random(settings.seed)
    negatives = sorted(negatives, key=lambda p: p.id)
    if settings.max_negatives_per_positive is not None:
        limit = max(1, int(len(positives) * settings.max_negatives_per_positive))
        if len(negatives) > limit:
            negatives = rng.sample(negatives, limit)
    lines = [f"{rules.label} {model_text(p.text, rules.max_tokens)}" for p in sorted(positives, key=lambda p: p.id)]
    lines += [f"{rules.negative_label} {model_text(p.text, rules.max_tokens)}" for p in negatives]
    rng.shuffle(lines)
    directory = os.path.dirname(os.path.abspath(output))
    os.makedirs(directory, exist_ok=True)
    import fasttext

    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as data:
        data.write("\n".join(lines) + "\n")
    try:
        model = fasttext.train_supervised(
            input=data.name, dim=settings.dim, lr=settings.lr, wordNgrams=settings.word_ngrams,
            minCount=settings.min_count, epoch=settings.epoch, bucket=settings.bucket, seed=settings.seed,
            thread=1, loss="softmax", verbose=0,
        )
    finally:
        os.unlink(data.name)
    temporary = os.path.join(directory, f".{os.path.basename(output)}.tmp-{os.getpid()}")
    model.save_model(temporary)
    os.replace(temporary, output)
    return model


@dataclass(frozen=True)
class Evaluation:
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        relevant = self.true_positives + self.false_negatives
        return self.true_positives / relevant if relevant else 0.0


def evaluate(model, positives: Sequence[Page], negatives: Sequence[Page], rules: ClassifierRules) -> Evaluation:
    """Precision and recall of `score >= threshold` on labelled pages."""
    pos = scores(model, [p.text for p in positives], rules)
    neg = scores(model, [p.text for p in negatives], rules)
    tp = sum(s >= rules.threshold for s in pos)
    fp = sum(s >= rules.threshold for s in neg)
    return Evaluation(tp, fp, len(pos) - tp, len(neg) - fp)


@dataclass(frozen=True)
class RoundReport:
    round: int
    positives: int
    negatives: int
    recalled: int
    code_domains: tuple[str, ...]


def train_rounds(seeds: Sequence[Page], negatives: Sequence[Page], pool: Sequence[Page], rules: ClassifierRules,
                 output: str, rounds: int | None = None):
    """DeepSeekMath's iterative recall. Round 1 trains on the seeds against `negatives`.
    Each later round scores `pool` (the crawl) with the last model; pool pages scoring at
    least the threshold, and every pool page of a domain where at least
    `recall.domain_fraction` of the pages scored so, join the seeds as positives, and the
    negatives are the rest of the pool. Returns (model, [RoundReport per round])."""
    rounds = rules.recall.rounds if rounds is None else rounds
    if rounds < 1:
        raise ClassifierError(f"rounds must be at least 1, got {rounds}")
    if rounds > 1 and not pool:
        raise ClassifierError("recall rounds need a pool of crawled pages to recall from (--pool)")
    positives, current_negatives = list(seeds), list(negatives)
    reports = []
    model = train(positives, current_negatives, rules, output)
    reports.append(RoundReport(1, len(positives), len(current_negatives), 0, ()))
    for number in range(2, rounds + 1):
        recalled_ids, domains = recall(model, pool, rules)
        seed_ids = {p.id for p in seeds}
        extra = [p for p in pool if (p.id in recalled_ids or p.domain in domains) and p.id not in seed_ids]
        positives = list(seeds) + extra
        current_negatives = [p for p in pool if p.id not in recalled_ids and p.domain not in domains]
        model = train(positives, current_negatives, rules, output)
        reports.append(RoundReport(number, len(positives), len(current_negatives), len(recalled_ids),
                                   tuple(sorted(domains))))
    return model, reports


def recall(model, pool: Sequence[Page], rules: ClassifierRules) -> tuple[set[str], set[str]]:
    """(ids of pool pages scoring >= threshold, domains with >= domain_fraction recalled)."""
    page_scores = scores(model, [p.text for p in pool], rules)
    recalled = {p.id for p, s in zip(pool, page_scores) if s >= rules.threshold}
    fraction = rules.recall.domain_fraction
    domains: set[str] = set()
    if fraction is not None:
        totals: dict[str, list[int]] = {}
        for page in pool:
            slot = totals.setdefault(page.domain, [0, 0])
            slot[0] += page.id in recalled
            slot[1] += 1
        domains = {d for d, (hit, total) in totals.items() if d and hit and hit / total >= fraction}
    return recalled, domains
