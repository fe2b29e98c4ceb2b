"""licenses.yaml: SPDX ids by licence type, the allow policy and the opt-out list."""

from __future__ import annotations

from dataclasses import dataclass

from stackpipe.rules.loader import one_of


@dataclass(frozen=True, kw_only=True)
class OptOut:
    """Repositories (`owner/name`) and owners whose code is never used; compared
    case-insensitively, as GitHub names are."""

    repositories: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LicenseRules:
    """Licence classification and policy (REFERENCE.md §3, The Stack v2).

    `permissive` and `non_permissive` list SPDX ids; an id in neither list is
    non-permissive, so a licence nobody reviewed is never let through. `allow` names the
    licence types kept (`permissive`, `non_permissive`); files with no licence at all are
    kept or dropped by `no_license`. `strip_headers` removes leading licence/copyright
    comment blocks from kept files (the SPDX id stays in the record). `linking_exceptions`
    lists licence exceptions (GCC-exception-3.1, Classpath-exception-2.0, ...) that let
    other code link a copyleft component under its own terms: `A AND (GPL WITH e)` is
    as permissive as `A`; `GPL WITH e` alone stays what GPL is.
    """

    permissive: tuple[str, ...] = ()
    non_permissive: tuple[str, ...] = ()
    linking_exceptions: tuple[str, ...] = ()
    allow: tuple[str, ...] = ("permissive",)
    no_license: str = "keep"
    opt_out: OptOut = OptOut()
    strip_headers: bool = False

    def __post_init__(self) -> None:
        for kept in self.allow:
            one_of("allow entry", kept, ("permissive", "non_permissive"))
        one_of("no_license", self.no_license, ("keep", "drop"))
        both = sorted(set(self.permissive) & set(self.non_permissive))
        if both:
            raise ValueError(f"{', '.join(both)} listed both as permissive and non_permissive")
