"""Byte-level BPE tokenizers for the four families, trained here or brought by the user.

A family's special tokens come from `rules/fim.yaml`. Training reserves them at ids
0, 1, 2, ... in the declared order (as StarCoder's tokenizer does). A user's own
`tokenizer.json` is accepted when it holds every token the family's roles name.

Document text is always encoded with `encode_special_tokens=True`, so text that spells
a sentinel (`<fim_prefix>` in a blog post about FIM) becomes ordinary tokens. Sentinel
ids enter a row only where the FIM and shard code put them on purpose.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from stackpipe.rules import FamilySpec


class TokenizerError(ValueError):
    """A tokenizer file is unreadable, or it does not fit the family."""


def new_byte_level_bpe() -> Tokenizer:
    """An untrained byte-level BPE that splits digits one by one, as StarCoder's does."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def train_byte_level_bpe(
    texts: Iterable[str], family: FamilySpec, vocab_size: int, *, min_frequency: int = 2, length: int | None = None
) -> Tokenizer:
    """Train a byte-level BPE on `texts` with the family's special tokens at the lowest ids."""
    if vocab_size <= len(family.special_tokens) + 256:
        raise TokenizerError(
            f"vocab size {vocab_size} is too small: {len(family.special_tokens)} special tokens and 256 bytes come first"
        )
    tokenizer = new_byte_level_bpe()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(family.special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte stays encodable
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=length)
    return tokenizer


@dataclass(frozen=True)
class FamilyTokenizer:
    """A tokenizer bound to a family: the role -> id table and the file's hash.

    `tokenizer_json` (the serialized tokenizer) is what travels to Beam workers; the
    `tokenizer` itself is rebuilt from it on each worker.
    """

    tokenizer_json: str
    family_name: str
    special_ids: dict[str, int]
    vocab_size: int
    sha256: str

    def tokenizer(self) -> Tokenizer:
        tokenizer = Tokenizer.from_str(self.tokenizer_json)
        tokenizer.encode_special_tokens = True
        return tokenizer

    def encoder(self) -> TextEncoder:
        return TextEncoder(self.tokenizer())

    def manifest_entry(self) -> dict:
        return {"sha256": self.sha256, "vocab_size": self.vocab_size, "family": self.family_name,
                "special_ids": dict(sorted(self.special_ids.items()))}


def bind_family(tokenizer_json: str, family_name: str, family: FamilySpec, *, source: str) -> FamilyTokenizer:
    """Check that `tokenizer_json` serves `family` and look up its sentinel ids by name.

    `source` names the file in errors. Raises TokenizerError when a role's token is
    missing, or when plain text spelling a sentinel would encode to the sentinel's id.
    """
    try:
        tokenizer = Tokenizer.from_str(tokenizer_json)
    except Exception as error:  # the Rust side raises a bare Exception on bad JSON
        raise TokenizerError(f"{source} is not a Hugging Face tokenizer.json: {error}") from None
    special_ids = {}
    for role, token in family.roles.named().items():
        token_id = tokenizer.token_to_id(token)
        if token_id is None:
            raise TokenizerError(
                f"{source} lacks the {family_name} sentinel {token!r} (role {role}); "
                f"use a tokenizer trained for {family_name} or change roles in fim.yaml"
            )
        special_ids[role] = token_id
    tokenizer.encode_special_tokens = True
    for role, token in family.roles.named().items():
        if special_ids[role] in tokenizer.encode(token, add_special_tokens=False).ids:
            raise TokenizerError(
                f"{source}: plain text {token!r} encodes to the sentinel id {special_ids[role]}; "
                "sentinels must be added special tokens that no text can produce"
            )
    return FamilyTokenizer(
        tokenizer_json=tokenizer_json,
        family_name=family_name,
        special_ids=special_ids,
        vocab_size=tokenizer.get_vocab_size(with_added_tokens=True),
        sha256=hashlib.sha256(tokenizer_json.encode("utf-8")).hexdigest(),
    )


class TextEncoder:
    """Encodes document text (special tokens never matched) and knows which tokens end a line.

    The line-end table lets the shard stage cut an over-long document between lines in
    token space, reusing its tokens instead of encoding it again.
    """

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer
        self.tokenizer.encode_special_tokens = True
        self._line_ends: np.ndarray | None = None
        self._line_starts: np.ndarray | None = None

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return encode_texts(self.tokenizer, texts)

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    @property
    def line_ends(self) -> np.ndarray:
        """Boolean per id: the token's text ends with a newline (computed once)."""
        if self._line_ends is None:
            self._tabulate_newlines()
        return self._line_ends

    @property
    def line_starts(self) -> np.ndarray:
        """Boolean per id: the token's text starts with a newline (e.g. newline + indent)."""
        if self._line_starts is None:
            self._tabulate_newlines()
        return self._line_starts

    def _tabulate_newlines(self) -> None:
        size = self.tokenizer.get_vocab_size(with_added_tokens=True)
        texts = self.tokenizer.decode_batch([[i] for i in range(size)], skip_special_tokens=True)
        self._line_ends = np.fromiter((t.endswith("\n") for t in texts), dtype=bool, count=size)
        self._line_starts = np.fromiter((t.startswith("\n") for t in texts), dtype=bool, count=size)


def encode_texts(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text, with no special tokens added and none matched in the text."""
    if not texts:
        return []
    return [encoding.ids for encoding in tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)]
