"""Split a licence file into sections and scope each to what it names.

Many licence files concatenate the project's own licence with those of bundled
components: NumPy's and SciPy's wheels ("This binary distribution of NumPy also bundles
the following software: Name: ... Files: numpy.libs/libgfortran*.so ... License: GPL-3.0-or-later
WITH GCC-exception-3.1"), Matplotlib's fonts (`Files: matplotlib/mpl-data/fonts/ttf/STIX*.ttf`,
OFL-1.1), a NOTICE listing vendored libraries (botocore: requests, urllib3, a CA bundle
under MPL-2.0), gRPC's "Following applies to: ./etc/roots.pem". Read whole, such a file
puts every licence on every file of the project. Here it is cut into sections:

- at separator lines (`----`, `====`, `****`, `____`) standing alone after a blank line,
  at `====`-underlined headings ("Requests License"), at `Name:` component blocks, at
  "Following applies to:" lists and at lines introducing bundled code ("X includes ...",
  "... also bundles the following software");
- a section naming files but holding no licence text is joined to the next one (the list
  of files and the licence it introduces);
- a section is *third-party* when it, or one before it, introduces bundled or vendored
  software, reference texts ("Full text of license texts referred to above follows"),
  or when it is a `Name:` / `Files:` component block;
- its *scope*: the paths it names (`Files:` globs, "Following applies to:" lists, file
  paths in the text of a third-party section), else, for a third-party section, a hint
  from its licence (font licences: font files) or what it names (certificates: `*.pem`),
  else the vendored directory named like its component (`**/_vendor/requests/**`).

`detect.py` gives scoped sections to the files they name only; unscoped sections that are
not third-party are the project's own licence (AND-ed, as before); unscoped third-party
sections are recorded but apply to none of the project's own files.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass

_SEPARATOR = re.compile(r"^\s*(?:-{3,}|={3,}|\*{3,}|_{3,}|#{3,})\s*$")
_EQUALS_UNDERLINE = re.compile(r"^\s*={3,}\s*$")
_NAME_FIELD = re.compile(r"^Name:\s*(\S.*)$")
_FILES_FIELD = re.compile(r"^Files:\s*(\S.*)$")
_LICENSE_FIELD = re.compile(r"^License:\s*(.*)$")
_APPLIES_TO = re.compile(r"^\s*(?:the\s+)?following\s+applies\s+to(?:\s+the\s+following\s+files)?\s*:?\s*$", re.I)
# A line introducing third-party material: "Botocore includes vendorized parts of ...",
# "This binary distribution of NumPy also bundles the following software:".
_INTRO = re.compile(
    r"\b(?:also\s+bundles?|bundles\s+the\s+following|can\s+also\s+bundle|includes?\s+(?:the\s+following|vendori[sz]ed|"
    r"vendored|a\s+(?:modified\s+|vendored\s+)?copy|code\s+from|parts?\s+of|portions?\s+of|software\s+developed)|"
    r"third[-\s]party\s+(?:software|components?|libraries|code|notices?|licen[cs]es)|"
    r"(?:contains|incorporates)\s+(?:code|software|parts?|portions?)\s+(?:from|of)|"
    r"full\s+text\s+of\s+licen[cs]e\s+texts?\s+referred\s+to)\b", re.I)
_INTRO_LINE = re.compile(r"^\S")  # intro lines start at column 0
_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)\S+", re.I)
# A path in running text: `dir/file.ext`, `dir/sub/` or a file name with an extension
# of code or data (not `LICENSE.txt`, which names licence text).
_PATH_TOKEN = re.compile(r"(?<![\w/.@-])\.?/?((?:[\w.*!-]+/)+[\w.*!-]+|[\w*-]+\.(?:py|pyi|pyx|c|h|cc|cpp|hpp|js|ts|"
                         r"css|pem|crt|ttf|otf|afm|pfb|woff2?|json|so|dll|dylib|el|java|go|rs))(?![\w/])")
_CODE_EXT = re.compile(r"\.(?:py|pyi|pyx|pxd|c|h|cc|cpp|hpp|js|ts|go|rs|java|el|rb|pl|sh)$")
# Licences of fonts: the sections holding them cover font files when they name none.
FONT_GLOBS = ("*.ttf", "*.otf", "*.ttc", "*.woff", "*.woff2", "*.eot", "*.afm", "*.pfb", "*.pfa", "*.pfm",
              "*.bdf", "*.pcf", "*.ttx", "*.ufo", "*fonts/*")
FONT_LICENCES = frozenset({"OFL-1.0", "OFL-1.1", "OFL-1.1-RFN", "OFL-1.1-no-RFN", "Bitstream-Vera",
                           "Bitstream-Charter", "GUST-Font-License", "LPPL-1.3c"})
CERTIFICATE_GLOBS = ("*.pem", "*.crt", "*.cer")
_CERTIFICATES = re.compile(r"\b(?:CA\s+(?:root\s+)?certificates?|root\s+certificates?|certificate\s+bundle|cacert)\b", re.I)
_FONT_TEXT = re.compile(r"\bfont\s+software\b|\bfonts?\b.{0,60}\blicen[cs]ed\b", re.I | re.S)
# Where vendored code lives: a component's directory below one of these is its scope.
VENDOR_DIRS = frozenset({"vendor", "_vendor", "vendored", "_vendored", "third_party", "thirdparty", "3rdparty",
                         "extern", "external", "externals", "deps", "bundled", "_bundled"})
_STOP = frozenset({"license", "licence", "licenses", "licences", "the", "of", "and", "for", "notice", "copyright",
                   "library", "python", "software", "bundle", "code", "parts", "part", "project", "includes",
                   "vendorized", "vendored", "version", "a", "an", "under", "which", "is", "mit", "bsd", "apache"})


@dataclass(frozen=True)
class Section:
    """One part of a licence file: its text and what it says about where it applies."""

    text: str
    third_party: bool  # bundled / vendored / reference text, not the project's own licence
    patterns: tuple[str, ...] = ()  # path globs it names (relative to the licence file's scope)
    hint: str = ""  # "fonts" / "certificates": asset files its licence covers when it names no paths
    names: tuple[str, ...] = ()  # component names (lower case), for vendored directories
    declared: str = ""  # its `License:` field, as written


def split_sections(text: str) -> list[Section]:
    """The sections of a licence file, in order; one section for a file with no structure."""
    lines = text.splitlines()
    starts = [0]
    for i, line in enumerate(lines):
        previous = lines[i - 1].strip() if i else ""
        if i and _SEPARATOR.match(line) and not previous:
            starts.append(i)
        elif i > 1 and _EQUALS_UNDERLINE.match(line) and previous and not _SEPARATOR.match(lines[i - 1]) \
                and not lines[i - 2].strip():
            starts.append(i - 1)  # a heading underlined with `===` starts a section
        elif i and not previous and (_NAME_FIELD.match(line) or _APPLIES_TO.match(line)
                                     or (_INTRO_LINE.match(line) and _INTRO.search(line))):
            starts.append(i)
    starts = sorted(set(starts))
    chunks = ["\n".join(lines[a:b]) for a, b in zip(starts, starts[1:] + [len(lines)])]
    sections: list[Section] = []
    sticky = False  # once bundled software is introduced, every later section is about it
    for chunk in chunks:
        if not chunk.strip() or _SEPARATOR.match(chunk.strip()):
            continue
        section = _section(chunk, sticky)
        sticky = sticky or _introduces(chunk)
        sections.append(section)
    return sections


def _introduces(chunk: str) -> bool:
    head = [line for line in chunk.splitlines() if line.strip()][:3]
    return any(_INTRO_LINE.match(line) and _INTRO.search(line) for line in head)


def _section(chunk: str, sticky: bool) -> Section:
    lines = chunk.splitlines()
    patterns: list[str] = []
    names: list[str] = []
    declared = ""
    component = False
    collecting = False  # inside a "Following applies to:" list
    for line in lines:
        if collecting:
            if line.strip() and " " not in line.strip():
                patterns.append(_clean(line.strip()))
                continue
            collecting = False
        if match := _FILES_FIELD.match(line):
            component = True
            patterns += [_clean(p) for p in re.split(r"[\s,]+", match.group(1)) if p]
        elif match := _NAME_FIELD.match(line):
            component = True
            names.append(match.group(1).strip().lower())
        elif match := _LICENSE_FIELD.match(line):
            declared = match.group(1).strip()
        elif _APPLIES_TO.match(line):
            collecting = True
    third_party = sticky or component or _introduces(chunk) or bool(patterns)
    if third_party and not patterns:
        patterns = [_clean(p) for p in _PATH_TOKEN.findall(_URL.sub(" ", chunk)) if _is_path(p)]
    if third_party and not names:
        names = _component_names(lines)
    hint = ""
    if third_party and not patterns:
        if _CERTIFICATES.search(chunk):
            hint = "certificates"
        elif _FONT_TEXT.search(chunk):
            hint = "fonts"
    return Section(chunk, third_party, tuple(dict.fromkeys(patterns)), hint, tuple(names), declared)


def _clean(pattern: str) -> str:
    pattern = pattern.strip().strip(",;:`'\"()[]").replace("\\", "")
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern.lstrip("/").rstrip("/")


def _is_path(token: str) -> bool:
    token = _clean(token)
    if not token or token.count("/") > 12 or re.fullmatch(r"[\d./-]+", token):
        return False  # a version or a date
    name = posixpath.basename(token)
    return "/" in token and ("." in name or "*" in name) or _CODE_EXT.search(name) is not None \
        or name.endswith((".pem", ".crt", ".ttf", ".otf", ".css", ".json", ".so"))


def _component_names(lines: list[str]) -> list[str]:
    """Names a third-party section gives its component: its heading ("Requests License"),
    or what an intro line says it includes ("includes vendorized parts of the urllib3 library")."""
    found = []
    for line in [line for line in lines if line.strip()][:3]:
        match = re.search(r"\b(?:parts?|portions?|copy|code)\s+of\s+(?:the\s+)?([\w.-]+)", line, re.I)
        if match:
            found.append(match.group(1).lower())
        elif len(line.split()) <= 4 and not _SEPARATOR.match(line):
            words = [w for w in re.findall(r"[\w.-]+", line.lower()) if w not in _STOP]
            if len(words) == 1:
                found.append(words[0])
    return [n for n in dict.fromkeys(found) if len(n) > 2]


def pattern_matches(pattern: str, path: str) -> bool:
    """Whether `path` (relative to where the licence file applies) is one `pattern` names:
    the path itself, a file matching the glob, anything below a named directory, or the
    same path below some other directory (a source tree's `lib/`, `src/`, `./etc/` laid out
    differently once installed)."""
    candidates = [pattern]
    if pattern.endswith(".so"):
        candidates.append(pattern + ".*")  # libgfortran*.so names libgfortran-ab12.so.5.0.0
    for prefix in ("lib/", "src/"):
        if pattern.startswith(prefix):
            candidates.append(pattern[len(prefix):])
    for candidate in candidates:
        if not candidate:
            continue
        if "/" not in candidate:  # a bare glob or file name: anywhere below
            if fnmatch.fnmatchcase(posixpath.basename(path), candidate):
                return True
            continue
        if fnmatch.fnmatchcase(path, candidate) or path.startswith(candidate + "/"):
            return True
        if fnmatch.fnmatchcase(path, "*/" + candidate) or ("/" + candidate + "/") in ("/" + path):
            return True
    return False


def hint_matches(hint: str, path: str) -> bool:
    globs = FONT_GLOBS if hint == "fonts" else CERTIFICATE_GLOBS if hint == "certificates" else ()
    lowered = path.lower()
    return any(fnmatch.fnmatchcase(lowered, g) or fnmatch.fnmatchcase(posixpath.basename(lowered), g) for g in globs)


def vendored_component(names: tuple[str, ...], path: str) -> bool:
    """Whether `path` lies in a directory named like one of `names` below a vendor directory."""
    if not names:
        return False
    wanted = {re.sub(r"[-_.]+", "_", n) for n in names}
    parts = path.lower().split("/")[:-1]
    for i, part in enumerate(parts):
        if re.sub(r"[-_.]+", "_", part) in wanted and any(p in VENDOR_DIRS for p in parts[:i]):
            return True
    return False
