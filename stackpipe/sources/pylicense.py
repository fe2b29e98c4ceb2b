"""The licence of an installed Python distribution, as an SPDX expression, from its metadata.

Order of trust: `License-Expression` (PEP 639, already SPDX); then `License` when it is a
short name we can map or that already reads as SPDX; then the trove classifiers
(`License :: OSI Approved :: MIT License` -> `MIT`; several are alternatives, joined by
OR). Empty when none of them says anything usable: the licence stage then decides from
the licence file, which is read with the distribution.
"""

from __future__ import annotations

import re
from email.message import Message

MAX_LICENSE_FIELD = 60  # longer `License` values are usually the whole licence text
SPDX_LIKE = re.compile(r"[A-Za-z0-9.+-]+(?: (?:AND|OR|WITH) [A-Za-z0-9.+-]+)*")

# Free-text `License` values seen in the wild, lower-cased.
LICENSE_ALIASES = {
    "mit": "MIT", "mit license": "MIT", "the mit license": "MIT", "mit-0": "MIT-0",
    "apache 2.0": "Apache-2.0", "apache 2": "Apache-2.0", "apache-2": "Apache-2.0", "apache2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0", "apache license, version 2.0": "Apache-2.0",
    "apache license version 2.0": "Apache-2.0", "apache software license": "Apache-2.0",
    "apache software license 2.0": "Apache-2.0",
    "3-clause bsd license": "BSD-3-Clause", "bsd 3-clause": "BSD-3-Clause", "new bsd license": "BSD-3-Clause",
    "modified bsd license": "BSD-3-Clause", "bsd-3": "BSD-3-Clause",
    "2-clause bsd license": "BSD-2-Clause", "simplified bsd license": "BSD-2-Clause",
    "isc": "ISC", "isc license": "ISC", "psf": "PSF-2.0", "python software foundation license": "PSF-2.0",
    "mpl 2.0": "MPL-2.0", "mpl-2": "MPL-2.0", "lgpl": "LGPL-2.1-or-later", "unlicense": "Unlicense",
}
# Not SPDX ids although they look like one-word licences: let the classifiers decide.
AMBIGUOUS = {"bsd", "gpl", "dual", "other", "unknown", "proprietary", "see license", "license"}

# Trove classifier tails (after "License :: OSI Approved :: " or "License :: ").
CLASSIFIERS = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "Apache Software License": "Apache-2.0",  # the classifier names no version; 2.0 is near universal
    "BSD License": "BSD-3-Clause",  # likewise ambiguous; 3-clause is the common one
    "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "The Unlicense (Unlicense)": "Unlicense",
    "zlib/libpng License": "Zlib",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
}


def distribution_license(metadata: Message) -> str:
    """The SPDX expression of a distribution's licence, or "" when its metadata does not say."""
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        return expression
    from_field = license_field(metadata.get("License") or "")
    if from_field:
        return from_field
    return classifier_license(metadata.get_all("Classifier") or [])


def license_field(value: str) -> str:
    """A free-text `License` value as SPDX, or "" when it is long, vague or unknown."""
    value = value.strip()
    if not value or len(value) > MAX_LICENSE_FIELD or "\n" in value:
        return ""
    lowered = value.lower()
    for name in (lowered, _without_license_word(lowered)):
        if name in LICENSE_ALIASES:
            return LICENSE_ALIASES[name]
    if lowered in AMBIGUOUS or not SPDX_LIKE.fullmatch(value):
        return ""
    return value


def _without_license_word(name: str) -> str:
    """`The Apache 2.0 License` and `MIT licence` name the same licences as `apache 2.0`, `mit`."""
    return re.sub(r"\s+licen[cs]e$", "", name.removeprefix("the ")).strip()


def classifier_license(classifiers: list[str]) -> str:
    found = []
    for classifier in classifiers:
        tail = classifier.removeprefix("License :: OSI Approved :: ").removeprefix("License :: ")
        spdx = CLASSIFIERS.get(tail) if classifier.startswith("License ::") else None
        if spdx and spdx not in found:
            found.append(spdx)
    return " OR ".join(sorted(found))
