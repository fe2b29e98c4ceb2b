"""Repository packing: imports per language, resolution, Algorithm 1's order, samples, the Beam stage."""

from __future__ import annotations

import pytest

from stackpipe.packing.imports import ImportSpec, expand_use_tree, extract_imports, has_parser
from stackpipe.packing.order import dependency_order
from stackpipe.packing.sample import (
    analyse_repository,
    build_sample,
    dependency_edges,
    order_records,
    pack_repository,
    path_comment,
    split_samples,
)
from stackpipe.records import FileRecord, packed_record_to_row, row_to_record
from stackpipe.rules import PackRules, RulesError, load_rules, parse

RULES = PackRules()
TWELVE = ("Python", "JavaScript", "TypeScript", "Java", "C", "C++", "C#", "Go", "Rust", "PHP", "Ruby", "Kotlin")


def record(path: str, content: str, language: str, repo: str = "acme/repo") -> FileRecord:
    return FileRecord(id=f"id-{path}", repo=repo, path=path, language=language, content=content,
                      size_bytes=len(content.encode()), source="github", license="MIT", license_type="permissive")


def order(files: dict[str, str], language: str, rules: PackRules = RULES) -> list[str]:
    records = [record(path, text, language) for path, text in files.items()]
    return [r.path for r in order_records(records, rules)]


def resolved(files: dict[str, str], language: str, engine: str = "tree_sitter") -> dict[str, list]:
    analysed = analyse_repository([(p, language, t) for p, t in sorted(files.items())], RULES, engine=engine)
    return {f.path: list(f.targets) for f in analysed}


# --- Algorithm 1 ----------------------------------------------------------------------


def test_order_puts_dependencies_first_and_ties_by_path():
    edges = [("z_base.py", "a_top.py"), ("z_base.py", "m_mid.py"), ("m_mid.py", "a_top.py")]
    assert dependency_order(["a_top.py", "m_mid.py", "z_base.py"], edges) == [["z_base.py", "m_mid.py", "a_top.py"]]


def test_order_breaks_a_cycle_at_the_least_imported_file_instead_of_stalling():
    # a <-> b is a cycle; c imports a, so a has in-degree 1 and b in-degree 1, c in-degree 0.
    edges = [("a", "b"), ("b", "a"), ("a", "c")]
    assert dependency_order(["a", "b", "c"], edges) == [["a", "b", "c"]]
    assert dependency_order(["x", "y"], [("x", "y"), ("y", "x")]) == [["x", "y"]]


def test_order_emits_each_connected_subgraph_whole_in_path_order():
    edges = [("b", "d"), ("a", "c")]
    assert dependency_order(["d", "c", "b", "a", "e"], edges) == [["a", "c"], ["b", "d"], ["e"]]


def test_order_ignores_duplicate_edges_and_self_loops():
    assert dependency_order(["a", "b"], [("b", "a"), ("b", "a"), ("a", "a")]) == [["b", "a"]]


# --- the twelve languages, each: dependencies first, cycles, unresolved imports -------


def test_every_language_has_a_tree_sitter_grammar_installed():
    assert [lang for lang in TWELVE if not has_parser(lang)] == []


def test_python_order_relative_absolute_packages_and_cycle():
    files = {
        "pkg/__init__.py": "from .core import run\n",
        "pkg/core.py": "import os\nfrom . import util\nfrom pkg.models import Model\n",
        "pkg/util.py": "import json  # stdlib: unresolved\n",
        "pkg/models/__init__.py": "from .a import A\n",
        "pkg/models/a.py": "from ..util import helper\nfrom . import b\n",
        "pkg/models/b.py": "from pkg.models import a  # cycle a <-> b\n",
        "main.py": "import pkg.core\n'''import not_an_import'''\n",
    }
    targets = resolved(files, "Python")
    assert targets["pkg/core.py"] == [(), ("pkg/util.py",), ("pkg/models/__init__.py",)]
    assert targets["pkg/models/b.py"] == [("pkg/models/a.py",)]
    got = order(files, "Python")
    assert got.index("pkg/util.py") < got.index("pkg/models/a.py") < got.index("pkg/models/__init__.py")
    assert got.index("pkg/core.py") < got.index("pkg/__init__.py")
    assert got.index("pkg/core.py") < got.index("main.py")
    assert sorted(got) == sorted(files)


def test_python_absolute_import_does_not_match_a_module_nested_in_a_package():
    files = {"app/__init__.py": "", "app/json.py": "", "app/main.py": "import json\n"}
    assert resolved(files, "Python")["app/main.py"] == [()]


def test_javascript_order_relative_index_require_and_packages():
    files = {
        "src/index.js": "import { a } from './lib';\nconst b = require('./b.js');\nimport React from 'react';\n",
        "src/lib/index.js": "export * from './a';\n",
        "src/lib/a.js": "export const a = 1;\n",
        "src/b.js": "const x = require('./index'); // cycle with index\n",
    }
    targets = resolved(files, "JavaScript")
    assert targets["src/index.js"] == [("src/lib/index.js",), ("src/b.js",), ()]
    got = order(files, "JavaScript")
    assert got.index("src/lib/a.js") < got.index("src/lib/index.js") < got.index("src/index.js")


def test_typescript_import_type_and_import_require():
    files = {
        "app.ts": "import type { T } from './types';\nimport fs = require('fs');\nimport u = require('./util');\n",
        "types.ts": "export type T = number;\n",
        "util.tsx": "import { T } from './types';\n",
    }
    assert resolved(files, "TypeScript")["app.ts"] == [("types.ts",), (), ("util.tsx",)]
    assert order(files, "TypeScript") == ["types.ts", "util.tsx", "app.ts"]


def test_java_order_classes_static_and_wildcard_imports():
    files = {
        "src/main/java/com/acme/App.java": "package com.acme;\nimport com.acme.model.*;\n"
                                           "import static com.acme.util.Strings.join;\nimport java.util.List;\n",
        "src/main/java/com/acme/model/User.java": "package com.acme.model;\nimport com.acme.model.Group;\n",
        "src/main/java/com/acme/model/Group.java": "package com.acme.model;\nimport com.acme.model.User;\n",
        "src/main/java/com/acme/util/Strings.java": "package com.acme.util;\n",
    }
    targets = resolved(files, "Java")["src/main/java/com/acme/App.java"]
    assert targets[0] == ("src/main/java/com/acme/model/Group.java", "src/main/java/com/acme/model/User.java")
    assert targets[1:] == [("src/main/java/com/acme/util/Strings.java",), ()]
    assert order(files, "Java")[-1] == "src/main/java/com/acme/App.java"


def test_kotlin_order_and_aliases():
    files = {
        "src/a/Main.kt": "package a\nimport a.b.Helper as H\nimport kotlinx.coroutines.launch\n",
        "src/a/b/Helper.kt": "package a.b\nimport a.b.Other\n",
        "src/a/b/Other.kt": "package a.b\n",
    }
    assert resolved(files, "Kotlin")["src/a/Main.kt"] == [("src/a/b/Helper.kt",), ()]
    assert order(files, "Kotlin") == ["src/a/b/Other.kt", "src/a/b/Helper.kt", "src/a/Main.kt"]


def test_c_order_relative_includes_include_dirs_and_system_headers():
    files = {
        "src/main.c": '#include <stdio.h>\n#include "util.h"\n#include <acme/api.h>\n',
        "src/util.h": '#include "../include/acme/api.h"\n',
        "include/acme/api.h": "int api(void);\n",
    }
    assert resolved(files, "C")["src/main.c"] == [(), ("src/util.h",), ("include/acme/api.h",)]
    assert order(files, "C") == ["include/acme/api.h", "src/util.h", "src/main.c"]


def test_cpp_order_with_an_include_cycle():
    files = {"a.hpp": '#include "b.hpp"\n', "b.hpp": '#include "a.hpp"\n', "main.cpp": '#include "a.hpp"\n'}
    # Every file has one dependency: the cycle comes first (it precedes main), broken at a by path.
    assert order(files, "C++") == ["a.hpp", "b.hpp", "main.cpp"]


def test_csharp_using_resolves_to_the_files_declaring_the_namespace():
    files = {
        "App/Program.cs": "using System;\nusing Acme.Models;\nnamespace Acme.App { class P {} }\n",
        "Models/User.cs": "namespace Acme.Models;\nusing Acme.Util;\nclass User {}\n",
        "Util/Strings.cs": "namespace Acme.Util { static class S {} }\n",
    }
    assert resolved(files, "C#")["App/Program.cs"] == [(), ("Models/User.cs",)]
    assert order(files, "C#") == ["Util/Strings.cs", "Models/User.cs", "App/Program.cs"]


def test_go_imports_resolve_to_package_directories_through_go_mod():
    files = {
        "go.mod": "module github.com/acme/tool\n\ngo 1.22\n",
        "cmd/tool/main.go": 'package main\nimport (\n  "fmt"\n  "github.com/acme/tool/internal/store"\n)\n',
        "internal/store/store.go": 'package store\nimport "github.com/acme/tool/internal/types"\n',
        "internal/store/store_test.go": "package store\n",
        "internal/types/types.go": "package types\n",
    }
    analysed = analyse_repository([(p, "Go" if p.endswith(".go") else "Go Module", t) for p, t in files.items()], RULES)
    targets = {f.path: list(f.targets) for f in analysed}
    assert targets["cmd/tool/main.go"] == [(), ("internal/store/store.go",)]
    records = [record(p, t, "Go") for p, t in files.items()]
    got = [r.path for r in order_records(records, RULES)]
    assert got.index("internal/types/types.go") < got.index("internal/store/store.go") < got.index("cmd/tool/main.go")


def test_rust_mod_files_and_crate_super_self_paths():
    files = {
        "src/lib.rs": "mod net;\npub mod util;\nuse crate::net::{client::Client, Server};\nuse std::io;\n",
        "src/net/mod.rs": "pub mod client;\nuse super::util::helper;\npub struct Server;\n",
        "src/net/client.rs": "use self::inner::X;\nuse crate::util;\n",
        "src/util.rs": "pub fn helper() {}\n",
    }
    targets = resolved(files, "Rust")
    assert targets["src/lib.rs"] == [
        ("src/net/mod.rs",), ("src/util.rs",), ("src/net/client.rs",), ("src/net/mod.rs",), ()]
    assert targets["src/net/mod.rs"] == [("src/net/client.rs",), ("src/util.rs",)]
    got = order(files, "Rust")
    assert got[0] == "src/util.rs" and got[-1] == "src/lib.rs"


def test_php_use_groups_psr4_and_require():
    files = {
        "public/index.php": "<?php\nrequire_once __DIR__ . '/../src/bootstrap.php';\n"
                            "use App\\Http\\{Kernel, Request as R};\nuse Psr\\Log\\LoggerInterface;\n",
        "src/bootstrap.php": "<?php\n",
        "src/Http/Kernel.php": "<?php\nnamespace App\\Http;\nuse App\\Http\\Request;\n",
        "src/Http/Request.php": "<?php\nnamespace App\\Http;\n",
    }
    assert resolved(files, "PHP")["public/index.php"] == [
        ("src/bootstrap.php",), ("src/Http/Kernel.php",), ("src/Http/Request.php",), ()]
    assert order(files, "PHP")[-1] == "public/index.php"


def test_ruby_require_relative_and_lib_require():
    files = {
        "bin/tool": "",
        "lib/tool.rb": "require 'json'\nrequire 'tool/version'\nrequire_relative 'tool/cli'\n",
        "lib/tool/cli.rb": "require_relative '../tool'  # cycle\n",
        "lib/tool/version.rb": "",
    }
    assert resolved(files, "Ruby")["lib/tool.rb"] == [(), ("lib/tool/version.rb",), ("lib/tool/cli.rb",)]
    got = order(files, "Ruby")
    assert got.index("lib/tool/version.rb") < got.index("lib/tool.rb")


def test_regex_fallback_for_a_language_without_a_grammar():
    files = {"init.lua": 'local m = require("mod.util")\n', "mod/util.lua": "return {}\n"}
    assert not has_parser("Lua")
    assert resolved(files, "Lua")["init.lua"] == [("mod/util.lua",)]
    assert order(files, "Lua") == ["mod/util.lua", "init.lua"]


@pytest.mark.parametrize("language,text,expected", [
    ("Python", "import a.b as c, d\nfrom ..x import (y,\n z)\n",
     [ImportSpec("module", "a.b"), ImportSpec("module", "d"), ImportSpec("module", "x", level=2, names=("y", "z"))]),
    ("Java", "import static a.B.c;\nimport a.b.*;\n", [ImportSpec("module", "a.B.c"),
                                                       ImportSpec("module", "a.b", wildcard=True)]),
    ("C", '#include "x.h"\n#include <y.h>\n', [ImportSpec("path", "x.h"), ImportSpec("system", "y.h")]),
    ("Go", 'import (\n f "fmt"\n "a/b"\n)\n', [ImportSpec("path", "fmt"), ImportSpec("path", "a/b")]),
])
def test_regex_engine_agrees_with_tree_sitter_on_plain_imports(language, text, expected):
    assert extract_imports(language, text) == expected
    assert extract_imports(language, text, engine="regex") == expected


def test_tree_sitter_ignores_imports_inside_strings_and_comments():
    text = '// import x from "./x";\nconst s = "require(\'./y\')";\n/* #include "z.h" */\n'
    assert extract_imports("JavaScript", text) == []
    assert extract_imports("C", '/* #include "z.h" */\nint x;\n') == []


def test_use_trees_expand_to_one_path_per_leaf():
    assert expand_use_tree("a::{self, b, c::{d, e as f}, g::*}", "::") == ["a", "a::b", "a::c::d", "a::c::e", "a::g"]
    assert expand_use_tree("App\\{A, B\\C}", "\\") == ["App\\A", "App\\B\\C"]


# --- samples --------------------------------------------------------------------------


def test_path_comments_use_each_languages_comment_syntax():
    assert path_comment("a/b.py", "Python", RULES) == "# a/b.py"
    assert path_comment("a/b.c", "C", RULES) == "// a/b.c"
    assert path_comment("a/b.html", "HTML", RULES) == "<!-- a/b.html -->"
    assert path_comment("a.css", "CSS", RULES) == "/* a.css */"
    assert path_comment("a.json", "JSON", RULES) == "# a.json"
    overridden = PackRules(comments={"PHP": "<?php // {path} ?>"}, default_comment="## {path}")
    assert path_comment("x.php", "PHP", overridden) == "<?php // x.php ?>"
    assert path_comment("a.json", "JSON", overridden) == "## a.json"


def test_sample_spans_cover_exactly_each_files_text_and_comments_lie_between():
    records = [record("b.py", "import a\nprint(a)", "Python"), record("a.py", "X = 1\n", "Python"),
               record("page.html", "<p>hi</p>\n", "HTML")]
    samples, rejected = pack_repository("acme/repo", records, RULES)
    assert rejected == [] and len(samples) == 1
    sample = samples[0]
    assert [f[0] for f in sample.files] == ["a.py", "b.py", "page.html"]
    for path, _, start, end in sample.files:
        assert sample.content[start:end] == next(r.content for r in records if r.path == path)
    assert sample.content.startswith("# a.py\nX = 1\n\n# b.py\nimport a\nprint(a)\n\n<!-- page.html -->\n<p>hi</p>\n")
    assert sample.language == "Python" and sample.path == "a.py"
    assert sample.size_bytes == len(sample.content.encode())
    assert sample.meta == {"sample_index": "0", "sample_count": "1", "file_count": "3"}


def test_split_at_file_boundaries_and_an_oversized_file_stands_alone():
    rules = PackRules(max_chars=41)  # "# f0.py\n" + 12 chars = 20 per small file, 1 between
    records = [record(f"f{i}.py", "x = 1\n" * n, "Python") for i, n in enumerate([2, 2, 20, 1])]
    runs = split_samples(records, rules)
    assert [[r.path for r in run] for run in runs] == [["f0.py", "f1.py"], ["f2.py"], ["f3.py"]]
    samples = [build_sample("acme/repo", i, len(runs), run, rules) for i, run in enumerate(runs)]
    assert all(len(s.content) <= 41 for s in samples if len(s.files) > 1)
    assert samples[1].content.endswith("x = 1\n" * 20)  # never cut
    assert len({s.id for s in samples}) == 3


def test_every_file_lands_in_exactly_one_sample_and_duplicate_paths_are_rejected():
    rules = PackRules(max_chars=30)
    records = [record(f"m{i}.py", f"import m{i + 1}\n", "Python") for i in range(10)]
    duplicate = FileRecord(**{**record("m3.py", "other\n", "Python").__dict__, "id": "zz"})
    samples, rejected = pack_repository("acme/repo", records + [duplicate], rules)
    packed = [f[0] for s in samples for f in s.files]
    assert sorted(packed) == sorted(r.path for r in records)
    assert packed == [f"m{i}.py" for i in reversed(range(10))]  # a chain: the deepest import first
    assert [(r.record.id, r.reason) for r in rejected] == [("zz", "duplicate_path")]
    assert [s.meta["sample_index"] for s in samples] == [str(i) for i in range(len(samples))]


def test_sample_ids_are_stable_and_rows_round_trip():
    records = [record("a.py", "x\n", "Python")]
    first, _ = pack_repository("acme/repo", records, RULES)
    again, _ = pack_repository("acme/repo", list(reversed(records)), RULES)
    assert first == again
    assert row_to_record(packed_record_to_row(first[0])) == first[0]


def test_pack_rules_load_from_yaml_and_reject_a_template_without_path():
    assert load_rules().pack.max_chars > 0
    with pytest.raises(RulesError, match="Python"):
        parse(PackRules, {"comments": {"Python": "# file"}}, file="pack.yaml", key="")
    with pytest.raises(RulesError, match="engine"):
        parse(PackRules, {"engine": "ctags"}, file="pack.yaml", key="")


def test_dependency_edges_point_from_dependency_to_dependent():
    analysed = analyse_repository([("a.py", "Python", "import b\n"), ("b.py", "Python", "")], RULES)
    assert dependency_edges(analysed) == [("b.py", "a.py")]


# --- the Beam stage and the pipeline ------------------------------------------------------


@pytest.fixture(scope="module")
def packed_run(tmp_path_factory):
    """`stackpipe pack` over two small repositories (one split in two, one duplicated path)
    and the real stdlib `email` package."""
    from pipelines import pack as pack_pipeline
    from stdlib_corpus import copy_rules, stdlib_records, write_documents

    records = [record(f"m{i}.py", f"import m{i + 1}\n" + "x = 1\n" * 10, "Python") for i in range(6)]
    records += [record("src/a.rs", "mod b;\n", "Rust", repo="acme/rs"), record("src/b.rs", "", "Rust", repo="acme/rs"),
                FileRecord(**{**record("src/b.rs", "dup\n", "Rust", repo="acme/rs").__dict__, "id": "zz"})]
    records += stdlib_records(40)
    root = tmp_path_factory.mktemp("pack")
    write_documents(root / "in", records)
    rules_dir = copy_rules(root / "rules")
    stats = pack_pipeline.run(["--input", str(root / "in"), "--output", str(root / "out"),
                               "--rules", str(rules_dir), "--max-chars", "5000000"])
    small = pack_pipeline.run(["--input", str(root / "in"), "--output", str(root / "out_small"), "--max-chars", "200"])
    return records, stats, small, root


def _samples(directory) -> list[FileRecord]:
    import pyarrow.parquet as pq

    rows = [row for path in sorted(directory.glob("documents/*.parquet")) for row in pq.read_table(path).to_pylist()]
    return [row_to_record(row) for row in rows]


def test_pipeline_stats_count_files_in_and_files_packed(packed_run):
    records, stats, small, _ = packed_run
    for document in (stats, small):
        assert document["conservation"]
        assert document["stages"]["pack"]["input"] == len(records)
        assert document["stages"]["pack"]["kept"] == len(records) - 1
        assert document["stages"]["pack"]["dropped"] == {"duplicate_path": 1}
    assert stats["documents"] == 3  # one sample per repository
    assert small["documents"] > stats["documents"]


def test_pipeline_writes_every_file_once_in_dependency_order(packed_run):
    records, _, _, root = packed_run
    for out in ("out", "out_small"):
        samples = _samples(root / out)
        spans = sorted((s.repo, s.files[0][0]) for s in samples)
        packed = [(s.repo, f[0]) for s in samples for f in s.files]
        assert sorted(packed) == sorted({(r.repo, r.path) for r in records})
        assert all(s.content[f[2]:f[3]] == next(r.content for r in records if (r.repo, r.path) == (s.repo, f[0]))
                   for s in samples for f in s.files)
        assert spans
    acme = next(s for s in _samples(root / "out") if s.repo == "acme/repo")
    assert [f[0] for f in acme.files] == [f"m{i}.py" for i in reversed(range(6))]
    email = next(s for s in _samples(root / "out") if s.repo == "python/cpython")
    order_of = [f[0] for f in email.files]
    assert order_of.index("email/errors.py") < order_of.index("email/message.py")


def test_cycle_aware_order_puts_a_cycle_before_the_files_that_import_it():
    # every file has one pending dependency once the cycle a <-> b is reached; 0_main imports b.
    edges = [("a", "b"), ("b", "a"), ("b", "0_main")]
    assert dependency_order(["0_main", "a", "b"], edges) == [["a", "b", "0_main"]]
    assert dependency_order(["0_main", "a", "b"], edges, cycle_aware=False) == [["0_main", "a", "b"]]


def test_two_workers_write_byte_identical_samples(packed_run):
    import hashlib

    from pipelines import pack as pack_pipeline

    _, _, _, root = packed_run
    pack_pipeline.run(["--input", str(root / "in"), "--output", str(root / "out_two"), "--max-chars", "200",
                       "--workers", "2"])

    def digest(directory):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.glob("*/*.parquet"))}

    assert digest(root / "out_two") == digest(root / "out_small")
