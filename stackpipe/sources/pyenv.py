"""The embedded default input (DESIGN.md §8): the running interpreter's own code.

`python-env://` reads, as a GitHub-style dump, the standard library as one repository
`python/cpython` (PSF-2.0) and every installed distribution as one repository
`pypi/<name>` made of the files its RECORD lists, with its licence file and the licence
its metadata declares. `python-env://stdlib` and `python-env://site-packages` read one
half. Distributions are found with importlib.metadata in sys.path order; when a name is
installed twice, the first one (the one `import` would use) wins.

Planning lists this interpreter's distributions, but the units are read by whichever
process runs the read stage: only runners whose workers are this process (the in-process
runners, LOOPBACK) read the same installation. Remote runners refuse `python-env://` at
submission (stackpipe/beam/submission.py); pack the installation into archives on shared
storage for them.
"""

from __future__ import annotations

import functools
import importlib.metadata as metadata
import re
import sysconfig
from typing import Iterator

from stackpipe.records import RawFile, Rejected
from stackpipe.rules import SourceRules
from stackpipe.sources.repos import read_entries
from stackpipe.sources.storage import Entry, local_entry, walk
from stackpipe.sources.units import InputUnit, SourceError, refuse
from stackpipe.sources.pylicense import distribution_license

SCHEME = "python-env://"
STDLIB_URI = SCHEME + "stdlib"
SITE_URI = SCHEME + "site-packages"
SOURCE = "python_env"
COMPILED = (".pyc", ".pyo")
# Inside *.dist-info/ only the licence files are kept; the rest is installer bookkeeping.
LICENSE_FILE = re.compile(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS|COPYRIGHT)", re.IGNORECASE)
STDLIB_SKIP = ("site-packages", "dist-packages")  # third-party code: read as distributions


def plan_python_env(uri: str) -> list[InputUnit]:
    """Units of `python-env://`, `python-env://stdlib` or `python-env://site-packages`."""
    what = uri[len(SCHEME):].strip("/")
    if what not in ("", "stdlib", "site-packages"):
        raise SourceError(f"input {uri!r}: expected python-env://, python-env://stdlib or python-env://site-packages")
    units = []
    if what in ("", "stdlib"):
        units.append(InputUnit("python_env", STDLIB_URI, repo="python/cpython", source=SOURCE, license="PSF-2.0"))
    if what in ("", "site-packages"):
        for name, dist in installed_distributions().items():
            units.append(InputUnit("python_env", f"{SITE_URI}/{name}", repo=f"pypi/{name}", source=SOURCE,
                                   license=distribution_license(dist.metadata)))
    return units


def canonical_name(name: str) -> str:
    """PEP 503 normalised name: `PyYAML` and `pyyaml` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.lru_cache(maxsize=1)
def installed_distributions() -> dict[str, metadata.Distribution]:
    """Distributions with a RECORD, by canonical name, first on sys.path wins (once per process)."""
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        name = canonical_name(name)
        if name not in found and dist.files:  # no RECORD (some editable/legacy installs): nothing to list
            found[name] = dist
    return dict(sorted(found.items()))


def read_python_env(unit: InputUnit, rules: SourceRules) -> Iterator[RawFile | Rejected]:
    """The files of the standard library or of one installed distribution."""
    if unit.uri == STDLIB_URI:
        return read_entries(unit, stdlib_entries(rules), rules)
    name = unit.uri[len(SITE_URI) + 1:]
    dist = installed_distributions().get(name)
    if dist is None:
        return iter([refuse(unit, "", "unreadable", f"distribution {name!r} of {unit.uri!r} is not installed here")])
    return read_entries(unit, distribution_entries(dist, rules), rules)


def stdlib_entries(rules: SourceRules) -> Iterator[Entry]:
    root = sysconfig.get_paths()["stdlib"]
    for entry in walk(root, rules.skip_dirs + STDLIB_SKIP):
        if not entry.rel.endswith(COMPILED):
            yield entry


def distribution_entries(dist: metadata.Distribution, rules: SourceRules) -> list[Entry]:
    """The files a distribution's RECORD lists, less compiled and bookkeeping files."""
    skip = set(rules.skip_dirs)
    entries = []
    for file in dist.files or ():
        parts = file.parts
        if ".." in parts or not skip.isdisjoint(parts[:-1]) or _is_bookkeeping(parts):
            continue  # `..`: console scripts outside site-packages, generated at install time
        entries.append(local_entry(str(dist.locate_file(file)), "/".join(parts)))
    return sorted(entries, key=lambda e: e.rel)


def _is_bookkeeping(parts: tuple[str, ...]) -> bool:
    name = parts[-1]
    if name.endswith(COMPILED) or name.endswith(".pth") or name.startswith("__editable__"):
        return True
    if parts[0].endswith((".dist-info", ".egg-info")):
        return not ("licenses" in parts[1:-1] or LICENSE_FILE.match(name))
    return False
