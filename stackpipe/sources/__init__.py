"""Sources: raw inputs -> RawFile records (or rejected records, stage "read").

The driver calls `plan_inputs` to turn input URIs into a sorted list of `InputUnit`s
(listing only); workers call `read_unit` on each. Reading never raises for bad data: a
symlink, an oversize or empty file, a hostile archive member, a name that is not valid
UTF-8 (`undecodable_path`, under an escaped name: see units.undecodable_name), a
corrupt stream or a malformed row becomes a `Rejected` record whose `meta["detail"]`
says what was wrong, and the rest of the unit is still read. `decode_text` turns bytes into text for the decode stage.

Modules: uris (URI and file-name rules), storage (listing and opening through
smart_open), streams (bounded gz/zst inflation), plan (URIs -> units), repos
(repository directories), archives (tar/zip), tables (Parquet/JSONL), pyenv and
pylicense (the running Python environment), decode (bytes -> text).
"""

from __future__ import annotations

from typing import Iterator

from stackpipe.records import RawFile, Rejected
from stackpipe.rules import SourceRules
from stackpipe.sources.archives import read_archive
from stackpipe.sources.decode import decode_text
from stackpipe.sources.plan import plan_inputs
from stackpipe.sources.pyenv import read_python_env
from stackpipe.sources.repos import read_repo_dir
from stackpipe.sources.tables import read_jsonl, read_parquet
from stackpipe.sources.units import InputUnit, SourceError

__all__ = ["InputUnit", "SourceError", "decode_text", "plan_inputs", "read_unit"]

READERS = {
    "repo_dir": read_repo_dir,
    "archive": read_archive,
    "parquet": read_parquet,
    "jsonl": read_jsonl,
    "python_env": read_python_env,
}


def read_unit(unit: InputUnit, rules: SourceRules) -> Iterator[RawFile | Rejected]:
    """Every file of `unit` as a RawFile, or a stage-"read" Rejected saying why it was not read."""
    return READERS[unit.kind](unit, rules)
