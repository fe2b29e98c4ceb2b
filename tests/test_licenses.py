"""Licence detection and policy (stackpipe.licenses), on real licence files of this machine."""

from __future__ import annotations

import importlib.metadata as metadata
from pathlib import Path

import pytest

from stackpipe.licenses import (
    apply_license_policy,
    classify,
    detect_licenses,
    identify_license,
    is_license_file,
    normalize_expression,
    strip_license_header,
)
from stackpipe.records import FileRecord, Rejected, content_hash, record_id
from stackpipe.rules import LicenseRules, OptOut, RulesError, load_rule_file, load_rules

COMMON_LICENSES = Path("/usr/share/common-licenses")  # Debian's copies of the GNU/MPL/Apache texts


def dist_license(distribution: str, name: str) -> str:
    """The text of licence file `name` (path tail) of an installed distribution."""
    try:
        files = metadata.distribution(distribution).files or []
    except metadata.PackageNotFoundError:
        pytest.skip(f"{distribution} is not installed")
    for file in files:
        if str(file).endswith(name) and ".dist-info/" in str(file):
            return Path(metadata.distribution(distribution).locate_file(file)).read_text(encoding="utf-8")
    pytest.skip(f"{distribution} ships no {name}")


def system_license(name: str) -> str:
    path = COMMON_LICENSES / name
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rules() -> LicenseRules:
    return load_rules().licenses


def record(path: str, content: str = "x = 1\n", repo: str = "acme/widgets", language: str = "Python") -> FileRecord:
    return FileRecord(id=record_id("github", repo, path), repo=repo, path=path, language=language,
                      content=content, size_bytes=len(content), source="github", content_hash=content_hash(content))


# --- identifying licence texts ------------------------------------------------------


@pytest.mark.parametrize(("distribution", "name", "expected"), [
    ("pyyaml", "LICENSE", "MIT"),
    ("charset-normalizer", "LICENSE", "MIT"),
    ("click", "LICENSE.txt", "BSD-3-Clause"),
    ("wrapt", "LICENSE", "BSD-2-Clause"),
    ("dnspython", "LICENSE", "ISC"),
    ("certifi", "LICENSE", "MPL-2.0"),
    ("cffi", "LICENSE", "MIT-0"),
    ("typing_extensions", "LICENSE", "PSF-2.0"),
])
def test_identifies_real_distribution_licence_files(distribution, name, expected):
    """Each licence kind is named by its SPDX id from the file a distribution ships."""
    assert identify_license(dist_license(distribution, name)).expression == expected


def test_identifies_apache_text_of_a_distribution():
    text = dist_license("pyarrow", "LICENSE.txt")
    assert identify_license(text).expression.split(" AND ")[0].startswith("Apache-2.0")


@pytest.mark.parametrize(("name", "expected"), [
    ("GPL-2", "GPL-2.0-only"), ("GPL-3", "GPL-3.0-only"), ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-3", "LGPL-3.0-only"), ("MPL-2.0", "MPL-2.0"), ("Apache-2.0", "Apache-2.0"), ("BSD", "BSD-3-Clause"),
])
def test_identifies_system_copies_of_copyleft_and_other_licences(name, expected):
    assert identify_license(system_license(name)).expression == expected


def test_bsd2_is_not_taken_for_bsd3():
    """The 3-clause text contains the 2-clause one; each must be named as itself."""
    assert identify_license(dist_license("wrapt", "LICENSE")).expression == "BSD-2-Clause"
    assert identify_license(dist_license("click", "LICENSE.txt")).expression == "BSD-3-Clause"


def test_or_later_notice_is_recognised():
    notice = ("This program is free software; you can redistribute it and/or modify it under the terms of the\n"
              "GNU General Public License as published by the Free Software Foundation; either version 2 of the\n"
              "License, or (at your option) any later version.\n\nThis program is distributed in the hope that it\n"
              "will be useful, but WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY or\n"
              "FITNESS FOR A PARTICULAR PURPOSE.  See the GNU General Public License for more details.\n")
    assert identify_license(notice).expression == "GPL-2.0-or-later"


def test_text_without_a_licence_identifies_nothing():
    assert identify_license("Authors:\n  Jane Doe\n  John Smith\n").expression == ""


# --- licence files, SPDX headers, directories ---------------------------------------


@pytest.mark.parametrize(("path", "expected"), [
    ("LICENSE", True), ("sub/dir/LICENCE.md", True), ("COPYING.LESSER", True), ("LICENSE-MIT", True),
    ("MIT-LICENSE.txt", True), ("UNLICENSE", True), ("NOTICE", True), ("LICENSES/Apache-2.0.txt", True),
    ("license.py", False), ("src/licenses/model.go", False), ("README.md", False), ("notice_test.go", False),
])
def test_is_license_file(path, expected):
    assert is_license_file(path) is expected


def test_nearest_licence_file_applies_to_its_directory_and_below():
    mit, gpl = dist_license("pyyaml", "LICENSE"), system_license("GPL-3")
    licence_map = detect_licenses([("LICENSE", mit), ("vendor/lib/COPYING", gpl)], None)
    assert licence_map.license_for("src/main.py") == "MIT"
    assert licence_map.license_for("vendor/lib/deep/x.c") == "GPL-3.0-only"
    assert licence_map.license_for("vendor/other.c") == "MIT"


def test_spdx_header_overrides_the_directory_licence():
    licence_map = detect_licenses([("LICENSE", dist_license("pyyaml", "LICENSE")),
                                   ("gpl.c", "// SPDX-License-Identifier: GPL-2.0-or-later\nint x;\n")], None)
    assert licence_map.license_for("gpl.c") == "GPL-2.0-or-later"
    assert licence_map.license_for("other.c") == "MIT"


def test_policy_reads_the_records_own_spdx_header(rules):
    """A map built from licence files only still lets a file's SPDX tag decide for it."""
    licence_map = detect_licenses([("LICENSE", dist_license("pyyaml", "LICENSE"))], None)
    dropped = apply_license_policy(record("a.c", "/* SPDX-License-Identifier: GPL-3.0-only */\nint x;\n"),
                                   licence_map, rules)
    assert (dropped.reason, dropped.record.license) == ("license_non_permissive", "GPL-3.0-only")


def test_metadata_applies_where_no_licence_file_does():
    licence_map = detect_licenses([("src/a.py", "x = 1\n")], "MIT License")
    assert licence_map.license_for("src/a.py") == "MIT"
    assert detect_licenses([("a.py", "")], None).license_for("a.py") == ""


def test_pointer_file_takes_the_licences_it_names():
    """packaging's LICENSE says "either of the licenses found in LICENSE.APACHE or LICENSE.BSD"."""
    files = [(name, dist_license("packaging", name)) for name in ("LICENSE", "LICENSE.APACHE", "LICENSE.BSD")]
    licence_map = detect_licenses(files, None)
    assert licence_map.license_files["LICENSE"].expression == "Apache-2.0 OR BSD-2-Clause"
    assert classify(licence_map.license_for("packaging/version.py"), load_rules().licenses) == "permissive"


def test_unrecognised_licence_file_is_an_unknown_licence():
    custom = "All rights reserved. " + "You may not copy, modify or distribute this software in any form. " * 3
    licence_map = detect_licenses([("LICENSE", custom)], None)
    assert licence_map.license_for("a.py") == "LicenseRef-unknown"


def test_dist_info_licence_files_cover_the_installed_tree():
    mit = dist_license("pyyaml", "LICENSE")
    licence_map = detect_licenses([("x-1.0.dist-info/licenses/LICENSE", mit),
                                   ("x-1.0.dist-info/licenses/src/x/_vendor/y/LICENSE", system_license("LGPL-2.1"))],
                                  None)
    assert licence_map.license_for("x/core.py") == "MIT"
    assert licence_map.license_for("x/_vendor/y/z.py") == "LGPL-2.1-only"


# --- classification and policy ------------------------------------------------------


@pytest.mark.parametrize(("expression", "expected"), [
    ("MIT", "permissive"), ("", "no_license"), ("GPL-3.0-only", "non_permissive"), ("MPL-2.0", "non_permissive"),
    ("MIT OR GPL-2.0-only", "permissive"), ("MIT AND GPL-2.0-only", "non_permissive"),
    ("Apache-2.0 WITH LLVM-exception", "permissive"), ("LicenseRef-whatever", "non_permissive"),
    ("MPL-2.0 AND (Apache-2.0 OR MIT)", "non_permissive"), ("not an ( expression", "non_permissive"),
])
def test_classify(expression, expected, rules):
    assert classify(expression, rules) == expected


def test_normalize_names_and_deprecated_ids():
    assert normalize_expression("MIT License") == "MIT"
    assert normalize_expression("GPL-2.0+") == "GPL-2.0-or-later"
    assert normalize_expression("apache-2.0 or mit") == "Apache-2.0 OR MIT"
    assert normalize_expression("Some Custom Terms") == "LicenseRef-unknown"


def test_policy_keeps_permissive_and_records_the_evidence(rules):
    licence_map = detect_licenses([("LICENSE", dist_license("pyyaml", "LICENSE"))], None)
    kept = apply_license_policy(record("a.py"), licence_map, rules)
    assert isinstance(kept, FileRecord)
    assert (kept.license, kept.license_type) == ("MIT", "permissive")
    assert "LICENSE" in kept.meta["license_detail"]


def test_policy_drops_non_permissive(rules):
    licence_map = detect_licenses([("COPYING", system_license("GPL-3"))], None)
    dropped = apply_license_policy(record("a.py"), licence_map, rules)
    assert isinstance(dropped, Rejected)
    assert (dropped.stage, dropped.reason) == ("license", "license_non_permissive")
    assert dropped.record.license == "GPL-3.0-only"


def test_policy_no_license_keep_or_drop(rules):
    empty = detect_licenses([], None)
    assert apply_license_policy(record("a.py"), empty, rules).license_type == "no_license"
    dropping = LicenseRules(permissive=rules.permissive, no_license="drop")
    assert apply_license_policy(record("a.py"), empty, dropping).reason == "license_no_license"


def test_opt_out_by_repository_and_owner(rules):
    licence_map = detect_licenses([], "MIT")
    by_repo = LicenseRules(permissive=rules.permissive, opt_out=OptOut(repositories=("Acme/Widgets",)))
    by_owner = LicenseRules(permissive=rules.permissive, opt_out=OptOut(owners=("ACME",)))
    assert apply_license_policy(record("a.py"), licence_map, by_repo).reason == "opted_out"
    assert apply_license_policy(record("a.py"), licence_map, by_owner).reason == "opted_out"
    assert isinstance(apply_license_policy(record("a.py", repo="other/x"), licence_map, by_owner), FileRecord)


def test_rules_reject_unknown_policy_values(tmp_path):
    path = tmp_path / "licenses.yaml"
    path.write_text("no_license: maybe\n")
    with pytest.raises(RulesError, match="no_license"):
        load_rule_file(path, LicenseRules)
    path.write_text("allow: [permissive, no_license]\n")
    with pytest.raises(RulesError, match="no_license"):
        load_rule_file(path, LicenseRules)


# --- header stripping ---------------------------------------------------------------

PY_HEADER = """#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright 2024 Acme Inc.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.

# Parse the widget configuration.
import os


def main():
    return os.getcwd()
"""


def test_strip_header_keeps_shebang_encoding_comments_and_code():
    stripped = strip_license_header(PY_HEADER, "Python")
    assert stripped == ("#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n# Parse the widget configuration.\n"
                        "import os\n\n\ndef main():\n    return os.getcwd()\n")


def test_strip_header_removes_c_block_comment_only():
    source = "/*\n * Copyright (c) 2019 Bar\n * SPDX-License-Identifier: MIT\n */\n#include <stdio.h>\nint x;\n"
    assert strip_license_header(source, "C") == "#include <stdio.h>\nint x;\n"


def test_strip_header_never_touches_code_or_other_comments():
    assert strip_license_header("/* Copyright 2020 */ int x;\n", "C") == "/* Copyright 2020 */ int x;\n"
    assert strip_license_header("# Helpers for parsing.\nx = 1\n", "Python") == "# Helpers for parsing.\nx = 1\n"
    assert strip_license_header('"""Copyright 2020 Foo."""\nx = 1\n', "Python") == '"""Copyright 2020 Foo."""\nx = 1\n'
    assert strip_license_header("# Copyright 2020\n", "Markdown") == "# Copyright 2020\n"  # a heading there


def test_policy_strips_headers_and_keeps_the_spdx_id(rules):
    content = "// SPDX-License-Identifier: MIT\n// Copyright 2020 Foo\npackage main\n"
    licence_map = detect_licenses([("main.go", content)], None)
    strip = LicenseRules(permissive=rules.permissive, strip_headers=True)
    kept = apply_license_policy(record("main.go", content, language="Go"), licence_map, strip)
    assert kept.content == "package main\n"
    assert kept.license == "MIT"
    assert kept.content_hash == content_hash("package main\n")


# --- licence files that also list bundled components ----------------------------------

TEXTS = Path(__file__).resolve().parent.parent / "stackpipe" / "licenses" / "data"


def shipped_text(name: str) -> str:
    """A reference licence text shipped with stackpipe (data/texts, data/notices)."""
    return (TEXTS / name).read_text(encoding="utf-8")


def test_numpy_licence_with_bundled_gcc_runtime_keeps_the_projects_code(rules):
    """numpy's wheel LICENSE.txt: BSD-3-Clause, then OpenBLAS, libgfortran (GPL-3.0-or-later
    WITH GCC-exception-3.1) and libquadmath (LGPL) sections naming `numpy.libs/*.so`."""
    text = dist_license("numpy", "licenses/LICENSE.txt")
    licence_map = detect_licenses([("numpy-2.0.dist-info/licenses/LICENSE.txt", text)], None)
    kept = apply_license_policy(record("numpy/linalg/_linalg.py"), licence_map, rules)
    assert isinstance(kept, FileRecord) and kept.license == "BSD-3-Clause"
    assert licence_map.license_for("numpy.libs/libgfortran-040039e1.so.5.0.0") == \
        "GPL-3.0-or-later WITH GCC-exception-3.1"
    assert licence_map.license_for("numpy.libs/libquadmath-96973f99.so.0.0.0") == "LGPL-2.1-or-later"


def test_notice_naming_an_mpl_vendored_file_scopes_mpl_to_that_file(rules):
    notice = ("Acme Widgets\nCopyright 2024 Acme Inc.\n\n----\n\n"
              "Acme Widgets includes a vendored copy of the Mozilla CA bundle, widgets/vendored/cacert.pem,\n"
              "under the Mozilla Public License 2.0:\n\n" + shipped_text("notices/MPL-2.0__notice.txt"))
    licence_map = detect_licenses([("LICENSE", shipped_text("texts/Apache-2.0.txt")), ("NOTICE", notice)], None)
    assert isinstance(apply_license_policy(record("widgets/core.py"), licence_map, rules), FileRecord)
    assert isinstance(apply_license_policy(record("widgets/vendored/__init__.py"), licence_map, rules), FileRecord)
    dropped = apply_license_policy(record("widgets/vendored/cacert.pem", "-----BEGIN CERTIFICATE-----\n"),
                                   licence_map, rules)
    assert isinstance(dropped, Rejected) and "MPL-2.0" in dropped.record.license


def test_font_licence_in_a_fonts_directory_does_not_drop_code(rules):
    licence_map = detect_licenses([("LICENSE", shipped_text("texts/MIT.txt")),
                                   ("pkg/fonts/LICENSE.txt", shipped_text("texts/OFL-1.1.txt"))], None)
    kept = apply_license_policy(record("pkg/fonts/loader.py"), licence_map, rules)
    assert isinstance(kept, FileRecord) and kept.license == "MIT"
    assert licence_map.license_for("pkg/fonts/DejaVuSans.ttf") == "OFL-1.1"


def test_own_gpl_spdx_header_is_dropped_in_a_project_with_bundled_sections(rules):
    text = dist_license("numpy", "licenses/LICENSE.txt")
    licence_map = detect_licenses([("numpy-2.0.dist-info/licenses/LICENSE.txt", text)], "BSD-3-Clause")
    gpl = apply_license_policy(record("numpy/gpl.c", "// SPDX-License-Identifier: GPL-3.0-only\nint x;\n"),
                               licence_map, rules)
    assert (gpl.reason, gpl.record.license) == ("license_non_permissive", "GPL-3.0-only")
    assert isinstance(apply_license_policy(record("numpy/ok.c", "int y;\n"), licence_map, rules), FileRecord)


def test_gpl_project_with_a_bundled_mit_component_is_still_dropped(rules):
    """The main licence is GPL: the project's files go; only what the MIT section names stays."""
    text = (system_license("GPL-3") + "\n----\n\nThis distribution also bundles the following software:\n\n"
            "Name: tinylib\nFiles: tinylib/*\nLicense: MIT\n" + shipped_text("texts/MIT.txt"))
    licence_map = detect_licenses([("COPYING", text)], "GPL-3.0-or-later")
    dropped = apply_license_policy(record("src/main.py"), licence_map, rules)
    assert isinstance(dropped, Rejected) and dropped.record.license.startswith("GPL-3.0")
    assert licence_map.license_for("tinylib/util.py") == "MIT"


def test_linking_exception_does_not_bind_the_code_beside_it(rules):
    assert classify("BSD-3-Clause AND GPL-3.0-or-later WITH GCC-exception-3.1", rules) == "permissive"
    assert classify("GPL-3.0-or-later WITH GCC-exception-3.1", rules) == "non_permissive"
    assert classify("BSD-3-Clause AND GPL-3.0-or-later", rules) == "non_permissive"


def test_real_multi_component_licence_files_keep_their_projects_code(rules):
    """matplotlib (OFL fonts, `Files:` sections), fonttools (LICENSE.external), botocore
    (NOTICE with an MPL CA bundle): their Python files keep the project's licence."""
    for distribution, declared, sample in (("matplotlib", "PSF-2.0", "matplotlib/pyplot.py"),
                                           ("fonttools", "MIT", "fontTools/ttLib/ttFont.py"),
                                           ("botocore", "Apache-2.0", "botocore/client.py")):
        try:
            dist = metadata.distribution(distribution)
        except metadata.PackageNotFoundError:
            continue
        files = [(str(f), Path(dist.locate_file(f)).read_text(encoding="utf-8", errors="replace"))
                 for f in dist.files or [] if ".dist-info/" in str(f) and is_license_file(str(f))]
        licence_map = detect_licenses(files, declared)
        assert isinstance(apply_license_policy(record(sample), licence_map, rules), FileRecord), distribution
