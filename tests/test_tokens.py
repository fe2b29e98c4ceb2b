"""Tokenizer, FIM and row layout: the invariants a trainer relies on."""

from __future__ import annotations

import dataclasses
import json
import sysconfig
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from stackpipe.rules import load_rules
from stackpipe.tokens.fim import FimIds, draw_cuts, fim_segments, seeded_rng
from stackpipe.tokens.samples import (
    FileSpan,
    SampleSettings,
    ShardSource,
    SourceProblem,
    check_spans,
    tokenize_sources,
)
from stackpipe.tokens.tokenizer import TokenizerError, bind_family, train_byte_level_bpe

STDLIB = Path(sysconfig.get_paths()["stdlib"])
FAMILIES = ("starcoder", "starcoder2", "codellama", "deepseek")
FIM_RULES = load_rules().fim


def stdlib_texts(limit: int) -> list[tuple[str, str]]:
    """(relative path, text) of real stdlib modules, in a stable order."""
    paths = sorted(STDLIB.glob("*.py"))[:limit]
    return [(p.name, p.read_text(encoding="utf-8", errors="replace")) for p in paths]


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, str]]:
    return stdlib_texts(120)


@pytest.fixture(scope="module", params=FAMILIES)
def bound(request, corpus):
    """A small tokenizer trained for each family on real stdlib code."""
    family = FIM_RULES.family(request.param)
    tokenizer = train_byte_level_bpe([text for _, text in corpus], family, 2000)
    return bind_family(tokenizer.to_str(), request.param, family, source="test")


def snippets(corpus, chars: int = 300) -> list[tuple[str, str]]:
    """Short heads of the real files: enough for rate statistics over thousands of rows."""
    return [(path, text[:chars]) for path, text in corpus]


def sources(corpus, count: int | None = None) -> list[ShardSource]:
    items = corpus if count is None else (corpus * (count // len(corpus) + 1))[:count]
    return [ShardSource(id=f"{i:032x}", repo="python/cpython", path=path, language="Python", source="github",
                        content=text, stars=42) for i, (path, text) in enumerate(items)]


def settings_for(bound, *, seed: int = 0, max_tokens: int = 1 << 20, metadata: bool = False, **fim) -> SampleSettings:
    family = FIM_RULES.family(bound.family_name)
    if fim:
        family = dataclasses.replace(family, fim=dataclasses.replace(family.fim, **fim))
    if not metadata:
        family = dataclasses.replace(family, metadata_rate=0.0)
    return SampleSettings(family=family, special_ids=bound.special_ids, seed=seed, max_tokens=max_tokens)


def undo_fim(tokens: list[int], special: dict[str, int], decode) -> str:
    """Reconstruct the original text of a row from the format spec (independent of fim.py)."""
    body = list(tokens)
    if "bos" in special:
        assert body.pop(0) == special["bos"]
    assert body.pop() == special["eos"]
    if "fim_end" in special and body and body[-1] == special["fim_end"]:
        body.pop()
    if not body or body[0] != special.get("fim_prefix"):
        assert not set(body) & set(special.values())
        return decode(body)
    suf, mid = body.index(special["fim_suffix"]), body.index(special["fim_middle"])
    if suf == 1:  # SPM: PRE SUF suffix MID prefix middle
        return decode(body[mid + 1:]) + decode(body[2:mid])
    return decode(body[1:suf]) + decode(body[mid + 1:]) + decode(body[suf + 1:mid])  # PSM


def decoder(bound):
    tokenizer = bound.tokenizer()
    return lambda ids: tokenizer.decode(ids, skip_special_tokens=False)


def test_sentinels_take_the_lowest_ids_in_declared_order(bound):
    family = FIM_RULES.family(bound.family_name)
    tokenizer = bound.tokenizer()
    assert [tokenizer.token_to_id(t) for t in family.special_tokens] == list(range(len(family.special_tokens)))


def test_text_round_trips_through_the_tokenizer(bound, corpus):
    tokenizer = bound.tokenizer()
    for _, text in corpus[:20]:
        assert tokenizer.decode(tokenizer.encode(text, add_special_tokens=False).ids) == text


def test_trained_tokenizer_loads_in_transformers(bound, tmp_path, corpus):
    transformers = pytest.importorskip("transformers")
    path = tmp_path / "tokenizer.json"
    path.write_text(bound.tokenizer_json, encoding="utf-8")
    fast = transformers.PreTrainedTokenizerFast(tokenizer_file=str(path))
    text = corpus[0][1][:2000]
    assert fast(text, add_special_tokens=False)["input_ids"] == bound.tokenizer().encode(text, add_special_tokens=False).ids


def test_training_is_deterministic(corpus):
    family = FIM_RULES.family("starcoder")
    texts = [text for _, text in corpus[:40]]
    assert train_byte_level_bpe(texts, family, 1000).to_str() == train_byte_level_bpe(texts, family, 1000).to_str()


def test_user_tokenizer_lacking_a_sentinel_is_a_clear_error(corpus):
    starcoder = FIM_RULES.family("starcoder")
    tokenizer = train_byte_level_bpe([text for _, text in corpus[:20]], FIM_RULES.family("codellama"), 600)
    with pytest.raises(TokenizerError, match=r"lacks the starcoder sentinel '<\|endoftext\|>'.*role eos"):
        bind_family(tokenizer.to_str(), "starcoder", starcoder, source="user/tokenizer.json")


def test_sentinel_that_plain_text_can_produce_is_refused():
    starcoder = FIM_RULES.family("starcoder")
    vocab = {chr(c): c for c in range(33, 127)}  # a word-level vocab where "<fim_prefix>" is an ordinary word
    vocab.update({token: 200 + i for i, token in enumerate(starcoder.special_tokens)})
    from tokenizers import models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="!"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    with pytest.raises(TokenizerError, match="encodes to the sentinel id"):
        bind_family(tokenizer.to_str(), "starcoder", starcoder, source="word-level.json")


def test_literal_sentinel_text_is_encoded_as_ordinary_text(bound):
    special = bound.special_ids
    text = "".join(FIM_RULES.family(bound.family_name).roles.named().values()) + "\nprint('hi')\n"
    doc = ShardSource(id="ab" * 16, repo="r", path="a.py", language="Python", source="github", content=text)
    settings = settings_for(bound, rate=0.0, repo_rate=None)
    (row,) = tokenize_sources([doc], settings, bound.encoder())
    inner = row.tokens.tolist()[(1 if "bos" in special else 0):-1]
    assert not set(inner) & set(special.values())
    assert decoder(bound)(inner) == text


@pytest.mark.parametrize("mode", ["psm", "spm"])
def test_fim_segments_reorder_back_to_the_text(mode):
    ids = FimIds(prefix=-1, suffix=-2, middle=-3, end=-4)
    text = (STDLIB / "textwrap.py").read_text()
    for key in range(200):
        cuts = draw_cuts(seeded_rng(7, str(key)), len(text))
        segments = fim_segments(text, mode, cuts, ids)
        assert segments[0] == -1 and segments[-1] == -4
        low, high = cuts
        assert text[:low] + text[low:high] + text[high:] == text
        pieces = {s: i for i, s in enumerate(segments) if isinstance(s, int)}
        texts_after = {s: segments[i + 1] if i + 1 < len(segments) and isinstance(segments[i + 1], str) else ""
                       for s, i in pieces.items()}
        if mode == "psm":
            assert texts_after[-1] + "".join(s for s in segments[pieces[-3] + 1:-1]) + texts_after[-2] == text
        else:
            assert "".join(s for s in segments[pieces[-3] + 1:-1]) + texts_after[-2] == text


def test_every_row_reconstructs_its_document_for_every_family(bound, corpus):
    docs = sources(corpus, 300)
    rows = tokenize_sources(docs, settings_for(bound), bound.encoder())
    decode = decoder(bound)
    assert len(rows) == len(docs)
    for doc, row in zip(docs, rows):
        assert undo_fim(row.tokens.tolist(), bound.special_ids, decode) == doc.content, (bound.family_name, row.fim)


def test_fim_rates_match_the_family_within_statistical_bounds(bound, corpus):
    family = FIM_RULES.family(bound.family_name)
    docs = sources(snippets(corpus), 3000)
    rows = tokenize_sources(docs, settings_for(bound), bound.encoder())
    n = len(rows)
    fim = sum(r.fim != "none" for r in rows)
    spm = sum(r.fim == "spm" for r in rows)
    rate = family.fim.rate
    assert abs(fim / n - rate) <= 4 * (rate * (1 - rate) / n) ** 0.5 + 1e-9
    if fim:
        share = family.fim.spm_rate
        assert abs(spm / fim - share) <= 4 * (share * (1 - share) / fim) ** 0.5 + 1e-9


def test_rows_depend_only_on_seed_and_id_not_on_batch_order(bound, corpus):
    docs = sources(corpus, 60)
    settings = settings_for(bound)
    tokenizer = bound.encoder()
    forward = {r.id: r.tokens.tolist() for r in tokenize_sources(docs, settings, tokenizer)}
    backward = {r.id: r.tokens.tolist() for r in tokenize_sources(docs[::-1], settings, tokenizer)}
    singles = {r.id: r.tokens.tolist() for d in docs[:10] for r in tokenize_sources([d], settings, tokenizer)}
    assert forward == backward
    assert all(forward[k] == v for k, v in singles.items())
    other_seed = {r.id: r.tokens.tolist() for r in tokenize_sources(docs, settings_for(bound, seed=1), tokenizer)}
    assert other_seed != forward


def test_no_fim_gives_plain_rows_ending_with_eos(bound, corpus):
    docs = sources(corpus, 50)
    settings = dataclasses.replace(settings_for(bound), fim=False)
    rows = tokenize_sources(docs, settings, bound.encoder())
    assert {r.fim for r in rows} == {"none"}
    assert all(r.tokens[-1] == bound.special_ids["eos"] for r in rows)


def test_long_documents_are_split_never_truncated(bound, corpus):
    long_text = "".join(text for _, text in corpus[:6])
    doc = ShardSource(id="cd" * 16, repo="r", path="big.py", language="Python", source="github", content=long_text)
    rows = tokenize_sources([doc], settings_for(bound, max_tokens=1024), bound.encoder())
    assert len(rows) > 2
    assert all(len(r.tokens) <= 1024 and r.split for r in rows)
    ids = [r.id for r in rows]
    assert all(i.startswith("cd" * 16 + "-") for i in ids) and ids == sorted(set(ids))
    decode = decoder(bound)
    assert "".join(undo_fim(r.tokens.tolist(), bound.special_ids, decode) for r in rows) == long_text


def test_split_without_fim_reuses_the_documents_own_tokens(bound, corpus):
    long_text = "".join(text for _, text in corpus[:6])
    doc = ShardSource(id="ef" * 16, repo="r", path="big.py", language="Python", source="github", content=long_text)
    rows = tokenize_sources([doc], settings_for(bound, max_tokens=1024, rate=0.0, repo_rate=None), bound.encoder())
    special = bound.special_ids
    head = 1 if "bos" in special else 0
    bodies = [t for r in rows for t in r.tokens.tolist()[head:-1]]
    assert len(rows) > 2 and {r.fim for r in rows} == {"none"}
    assert bodies == bound.tokenizer().encode(long_text, add_special_tokens=False).ids
    texts = [decoder(bound)(r.tokens.tolist()[head:-1]) for r in rows]
    assert all(a.endswith("\n") or b.startswith("\n") for a, b in zip(texts, texts[1:]))  # cut between lines


def test_starcoder_metadata_prefixes_follow_their_rate(corpus):
    family = FIM_RULES.family("starcoder")
    tokenizer = train_byte_level_bpe([t for _, t in corpus[:30]], family, 1000)
    bound = bind_family(tokenizer.to_str(), "starcoder", family, source="test")
    rows = tokenize_sources(sources(snippets(corpus), 2000), settings_for(bound, metadata=True), bound.encoder())
    for role in ("reponame", "filename", "gh_stars"):
        share = sum(bound.special_ids[role] in r.tokens[:40] for r in rows) / len(rows)
        assert abs(share - family.metadata_rate) < 4 * (0.2 * 0.8 / len(rows)) ** 0.5


def packed_sample(corpus, index: int, files: int = 4) -> ShardSource:
    """A repository sample the way packing writes it: a path comment, then the file."""
    content, spans = "", []
    for path, text in corpus[index:index + files]:
        content += f"# {path}\n"
        spans.append(FileSpan(path=path, language="Python", start=len(content), end=len(content) + len(text)))
        content += text
    return ShardSource(id=f"{index:032x}", repo=f"owner/repo{index}", path="", language="Python",
                       source="github", content=content, stars=3, files=tuple(spans))


def test_packed_sample_applies_fim_inside_files_only(corpus):
    # Code Llama closes each middle with <EOT>, so every FIM block is delimited in the tokens
    family = FIM_RULES.family("codellama")
    bound = bind_family(train_byte_level_bpe([t for _, t in corpus[:30]], family, 1000).to_str(),
                        "codellama", family, source="test")
    special, decode = bound.special_ids, decoder(bound)
    samples = [packed_sample(corpus, i) for i in range(100)]
    rows = tokenize_sources(samples, settings_for(bound), bound.encoder())
    blocks = 0
    for sample, row in zip(samples, rows):
        tokens = row.tokens.tolist()[1:-1]
        files = {sample.content[s.start:s.end] for s in sample.files}
        text, position = "", 0
        while special["fim_prefix"] in tokens[position:]:
            start = tokens.index(special["fim_prefix"], position)
            stop = tokens.index(special["fim_end"], start) + 1
            without_bos = {k: v for k, v in special.items() if k != "bos"}
            restored = undo_fim(tokens[start:stop] + [special["eos"]], without_bos, decode)
            assert restored in files, "a FIM block crossed a file boundary"
            text += decode(tokens[position:start]) + restored
            position = stop
            blocks += 1
        text += decode(tokens[position:])
        assert text == sample.content
    rate = family.fim.rate
    assert abs(blocks / 400 - rate) < 4 * (rate * (1 - rate) / 400) ** 0.5


def test_starcoder2_repo_level_fim_selects_repositories_then_files(corpus):
    family = FIM_RULES.family("starcoder2")
    bound = bind_family(train_byte_level_bpe([t for _, t in corpus[:30]], family, 1000).to_str(),
                        "starcoder2", family, source="test")
    special = bound.special_ids
    samples = [packed_sample(snippets(corpus), i % 100, files=4) for i in range(800)]
    samples = [dataclasses.replace(s, id=f"{i:032x}") for i, s in enumerate(samples)]
    rows = tokenize_sources(samples, settings_for(bound), bound.encoder())
    per_repo = [r.tokens.tolist().count(special["fim_prefix"]) for r in rows]
    selected = [n for n in per_repo if n > 0]
    # a selected repository shows no FIM file with probability 0.5**4; correct the observed share for it
    share = len(selected) / len(rows) / (1 - 0.5 ** 4)
    assert abs(share - family.fim.repo_rate) < 0.07
    assert abs(sum(selected) / (4 * len(selected)) - 0.5 / (1 - 0.5 ** 4)) < 0.05
    first = rows[0].tokens.tolist()
    assert first[0] == special["repo_name"] and first.count(special["file_sep"]) == 4
    assert decoder(bound)(first[1:first.index(special["file_sep"])]) == samples[0].repo


def test_broken_spans_are_a_named_problem():
    sample = ShardSource(id="0" * 32, repo="r", path="", language="", source="github", content="abc",
                         files=(FileSpan("a", "", 0, 2), FileSpan("b", "", 1, 3)))
    with pytest.raises(SourceProblem, match="bad_spans.*'b'"):
        check_spans(sample)


def test_manifest_entry_names_the_tokenizer_hash(bound):
    entry = bound.manifest_entry()
    assert len(entry["sha256"]) == 64 and entry["special_ids"]["eos"] == bound.special_ids["eos"]
    json.dumps(entry)
