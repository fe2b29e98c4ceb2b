"""Shared fixtures: real code shards of this machine's standard library, per model family."""

from __future__ import annotations

from pathlib import Path

import pytest

from stdlib_corpus import stdlib_records, write_documents


@pytest.fixture(scope="session")
def training_shards(tmp_path_factory):
    """family -> shard directory built by the real pipeline from ~1.5 MB of stdlib code
    (tokenizer of 1024 tokens, FIM on), built once per family per session."""
    from pipelines import shards as shards_pipeline
    from pipelines import tokenizer as tokenizer_pipeline

    built: dict[str, Path] = {}
    documents = write_documents(tmp_path_factory.mktemp("train-docs"), stdlib_records(150))

    def shards_for(family: str) -> Path:
        if family not in built:
            root = tmp_path_factory.mktemp(f"train-{family}")
            tokenizer = root / "tokenizer.json"
            tokenizer_pipeline.run(["--input", str(documents), "--output", str(tokenizer), "--family", family,
                                    "--vocab-size", "1024"])
            shards_pipeline.run(["--input", str(documents), "--output", str(root / "shards"), "--tokenizer",
                                 str(tokenizer), "--family", family, "--seq-len", "4096"])
            built[family] = root / "shards"
        return built[family]

    return shards_for


@pytest.fixture(scope="session")
def pii_rules():
    """The bundled rules/pii.yaml."""
    from stackpipe.rules import DEFAULT_RULES_DIR, PiiRules, load_rule_file

    return load_rule_file(DEFAULT_RULES_DIR / "pii.yaml", PiiRules)


@pytest.fixture(scope="session")
def pii_redactor(pii_rules):
    """A redactor with the bundled rules, built once (presidio's engine takes seconds)."""
    from stackpipe.pii import PiiRedactor

    return PiiRedactor(pii_rules)
