"""fim.yaml: per model family, the special tokens and their roles, vocabulary size,
context length, fill-in-the-middle and metadata rates."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping

from stackpipe.rules.loader import Checked, FieldError, RulesError, fraction, one_of, ranged


@dataclass(frozen=True, kw_only=True)
class TokenRoles:
    """What the shard writer uses each special token for (texts, looked up by name)."""

    eos: str
    bos: str | None = None
    fim_prefix: str | None = None
    fim_middle: str | None = None
    fim_suffix: str | None = None
    fim_end: str | None = None
    fim_pad: str | None = None
    reponame: str | None = None
    filename: str | None = None
    gh_stars: str | None = None
    repo_name: str | None = None
    file_sep: str | None = None

    def named(self) -> dict[str, str]:
        """role -> token text, for the roles this family declares."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True, kw_only=True)
class FimSettings(Checked):
    rate: float = fraction(0.0)
    spm_rate: float = fraction(0.5)
    repo_rate: float | None = fraction(None)
    repo_file_rate: float = fraction(0.5)


@dataclass(frozen=True, kw_only=True)
class FamilySpec(Checked):
    special_tokens: tuple[str, ...]
    roles: TokenRoles
    vocab_size: int = ranged(dataclasses.MISSING, 257)  # 256 bytes first, and then the special tokens
    context_length: int = ranged(dataclasses.MISSING, 1)
    fim: FimSettings = FimSettings()
    metadata_rate: float = fraction(0.0)
    repo_format: str = "concat"

    def __post_init__(self) -> None:
        super().__post_init__()
        one_of("repo_format", self.repo_format, ("concat", "starcoder2"))
        if len(set(self.special_tokens)) != len(self.special_tokens):
            raise ValueError("special_tokens lists a token twice")
        if self.vocab_size <= len(self.special_tokens) + 256:
            raise FieldError("vocab_size", f"must exceed the 256 bytes and {len(self.special_tokens)} special "
                                            f"tokens ({len(self.special_tokens) + 256}), got {self.vocab_size}")
        roles = self.roles.named()
        for role, token in roles.items():
            if token not in self.special_tokens:
                raise ValueError(f"roles.{role} {token!r} is not listed in special_tokens")
        needed = {"FIM": (self.fim.rate > 0 or bool(self.fim.repo_rate), ("fim_prefix", "fim_middle", "fim_suffix")),
                  "metadata_rate": (self.metadata_rate > 0, ("reponame", "filename", "gh_stars")),
                  "repo_format starcoder2": (self.repo_format == "starcoder2", ("repo_name", "file_sep"))}
        for feature, (used, wanted) in needed.items():
            missing = [role for role in wanted if used and role not in roles]
            if missing:
                raise ValueError(f"{feature} needs roles {', '.join(missing)}")


@dataclass(frozen=True, kw_only=True)
class FimRules:
    families: Mapping[str, FamilySpec] = field(default_factory=dict)

    def family(self, name: str) -> FamilySpec:
        if name not in self.families:
            raise RulesError(f"unknown family {name!r}; fim.yaml defines: {', '.join(sorted(self.families))}")
        return self.families[name]
