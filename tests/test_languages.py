"""Language detection from rules/languages.yaml: names, extensions, heuristics, hints."""

import pickle
import shutil
import sysconfig
from pathlib import Path

import pytest

from stackpipe.languages import LanguageDetector
from stackpipe.languages.detect import HEAD_CHARS
from stackpipe.rules import DEFAULT_RULES_DIR, Heuristic, LanguageRules, LanguageSpec, RulesError, load_rules


@pytest.fixture(scope="module")
def rules():
    return load_rules().languages


@pytest.fixture(scope="module")
def detector(rules):
    return LanguageDetector(rules)


def test_rules_define_300_languages_with_a_name_or_extension(rules):
    named = [name for name, spec in rules.languages.items() if spec.extensions or spec.filenames]
    assert len(named) >= 300


def test_languages_other_rules_refer_to_exist(rules):
    assert {"JSON", "YAML", "XML", "XSLT", "HTML", "C", "Python", "Markdown"} <= set(rules.languages)


def test_rules_extensions_are_lower_case_with_a_dot(rules):
    bad = [e for spec in rules.languages.values() for e in spec.extensions if e != e.lower() or e[0] != "."]
    assert bad == []


@pytest.mark.parametrize(
    "path, language",
    [("repo/Makefile", "Makefile"), ("Dockerfile", "Dockerfile"), ("src/CMakeLists.txt", "CMake")],
)
def test_file_name_decides_before_extension(detector, path, language):
    assert detector.detect(path, "") == language


def test_file_names_match_exactly(detector):
    """CMakeLists.txt is CMake, but a lower-cased copy is only a .txt file."""
    assert detector.detect("cmakelists.txt", "") == "Text"


@pytest.mark.parametrize("path, language", [("MAIN.PY", "Python"), ("App.Java", "Java"), ("x.JSON", "JSON")])
def test_extensions_match_case_insensitively(detector, path, language):
    assert detector.detect(path, "") == language


@pytest.mark.parametrize(
    "path, language",
    [("views/home.blade.php", "Blade"), ("cmake/Find.cmake.in", "CMake"), ("config.h.in", "C"),
     ("types/index.d.ts", "TypeScript"), ("lib/jquery.min.js", "JavaScript")],
)
def test_longest_known_extension_wins(detector, path, language):
    assert detector.detect(path, "") == language


def test_archive_suffix_is_no_language(detector):
    assert detector.detect("dist/src.tar.gz", "") is None


def test_unknown_extension_is_none(detector):
    assert detector.detect("data/blob.zzqq", "whatever") is None


def test_name_without_extension_is_none(detector):
    assert detector.detect("bin/run-something", "echo hi") is None


AMBIGUOUS = [
    ("x.h", "#include <vector>\nclass Foo {\n  std::vector<int> v;\n};\n", "C++"),
    ("x.h", "#import <Foundation/Foundation.h>\n@interface Foo : NSObject\n@end\n", "Objective-C"),
    ("x.h", "#ifndef X_H\n#define X_H\nstruct point { int x, y; };\nint add(int a, int b);\n#endif\n", "C"),
    ("x.m", "#import \"Foo.h\"\n@implementation Foo\n- (void)run {}\n@end\n", "Objective-C"),
    ("x.m", "function y = square(x)\n% SQUARE returns x squared\n  y = x .^ 2;\nend\n", "MATLAB"),
    ("x.m", "%----\n:- module hello.\n:- interface.\n:- import_module io.\n", "Mercury"),
    ("x.pl", "#!/usr/bin/perl\nuse strict;\nmy $x = 1;\nprint \"$x\\n\";\n", "Perl"),
    ("x.pl", "parent(tom, bob).\nancestor(X, Y) :- parent(X, Y).\n", "Prolog"),
    ("x.pl", "use v6;\nmy Int $x = 1;\nsay $x;\n", "Raku"),
    ("x.ts", "export function add(a: number, b: number): number {\n  return a + b;\n}\n", "TypeScript"),
    ("x.ts", '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n<TS version="2.1" language="de">\n', "XML"),
    ("x.v", "module counter(input clk, output reg [3:0] q);\n  always @(posedge clk) q <= q + 1;\nendmodule\n",
     "Verilog"),
    ("x.v", "Require Import Arith.\nTheorem plus_0 : forall n, n + 0 = n.\nProof. auto. Qed.\n", "Rocq Prover"),
    ("x.v", "module main\n\nfn main() {\n  x := 1\n  println(x)\n}\n", "V"),
    ("x.inc", "<?php\n$config = ['debug' => true];\n", "PHP"),
    ("x.inc", "procedure Foo(a: Integer);\nbegin\n  WriteLn(a);\nend;\n", "Pascal"),
    ("x.inc", "#pragma once\nstatic const int kTable[] = {1, 2, 3};\n", "C++"),
    ("x.inc", "%define BUFSIZE 512\nsection .data\n", "Assembly"),
    ("x.inc", "#pragma semicolon 1\n#include <sourcemod>\nnative int Foo();\n", "SourcePawn"),
    ("x.md", "# Title\n\nSome *prose*.\n", "Markdown"),
    ("x.md", "(define_insn \"addsi3\"\n  [(set (match_operand:SI 0 \"register_operand\" \"=r\"))]\n", "GCC Machine Description"),
    ("x.pp", "class nginx {\n  package { 'nginx': ensure => installed }\n}\n", "Puppet"),
    ("x.pp", "program Hello;\nuses SysUtils;\nbegin\n  WriteLn('hi');\nend.\n", "Pascal"),
    ("x.r", "x <- c(1, 2, 3)\nprint(mean(x))\n", "R"),
    ("x.r", "REBOL [Title: \"demo\"]\nprint \"hi\"\n", "Rebol"),
    ("x.sql", "SELECT id, name FROM users WHERE id = 1;\n", "SQL"),
    ("x.sql", "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN RETURN 1; END;\n$$ LANGUAGE plpgsql;\n", "PLpgSQL"),
    ("x.sql", "SET NOCOUNT ON;\nSELECT @@VERSION;\nGO\n", "TSQL"),
    ("x.fs", "module Main\nlet square x = x * x\n", "F#"),
    ("x.fs", "#version 330\nout vec4 color;\nvoid main() { color = vec4(1.0); }\n", "GLSL"),
    ("x.fs", ": square ( n -- n ) dup * ;\n", "Forth"),
    ("x.cls", "public with sharing class AccountService {\n}\n", "Apex"),
    ("x.cls", "\\NeedsTeXFormat{LaTeX2e}\n\\ProvidesClass{thesis}\n", "TeX"),
    ("x.txt", "Just some notes.\n", "Text"),
]


@pytest.mark.parametrize("path, text, language", AMBIGUOUS, ids=[f"{p}-{lang}" for p, _, lang in AMBIGUOUS])
def test_ambiguous_extension_resolved_by_content(detector, path, text, language):
    assert detector.detect(path, text) == language


def test_without_heuristic_the_first_listed_language_wins():
    """A shared extension or file name with no heuristic goes to the language listed first."""
    languages = {
        "First": LanguageSpec(type="programming", extensions=(".x",), filenames=("BUILD",)),
        "Second": LanguageSpec(type="programming", extensions=(".x",), filenames=("BUILD",)),
    }
    detector = LanguageDetector(LanguageRules(languages=languages))
    assert detector.detect("a.x", "") == detector.detect("BUILD", "") == "First"


def test_heuristics_that_all_miss_fall_back_to_the_first_listed_language():
    languages = {
        "First": LanguageSpec(type="programming", extensions=(".x",)),
        "Second": LanguageSpec(type="programming", extensions=(".x",)),
    }
    heuristics = {".x": (Heuristic(language="Second", pattern="^second"),)}
    detector = LanguageDetector(LanguageRules(languages=languages, heuristics=heuristics))
    assert (detector.detect("a.x", "second\n"), detector.detect("a.x", "other\n")) == ("Second", "First")


def test_invalid_heuristic_regex_names_file_and_key(tmp_path):
    rules_dir = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules_dir)
    path = rules_dir / "languages.yaml"
    path.write_text(path.read_text().replace("pattern: '<\\?hh'}", "pattern: '<(hh'}", 1))
    with pytest.raises(RulesError) as error:
        load_rules(rules_dir)
    assert str(path) in str(error.value) and "heuristics." in str(error.value) and "<(hh" in str(error.value)


def test_heuristics_read_only_the_head(detector):
    """An Objective-C signal past the first HEAD_CHARS characters is not seen."""
    text = "int x;\n" * (HEAD_CHARS // 7 + 1) + "@interface Late : NSObject\n@end\n"
    assert detector.detect("late.h", text) == "C"


def test_hint_used_when_the_path_says_nothing(detector):
    assert detector.detect("data/blob.zzqq", "", hint="python") == "Python"


def test_hint_ignored_when_the_path_decides(detector):
    assert detector.detect("main.c", "int main(void) { return 0; }", hint="Python") == "C"


def test_unknown_hint_is_ignored(detector):
    assert detector.detect("data/blob.zzqq", "", hint="NotALanguage") is None


def test_language_type_follows_linguist(detector):
    assert [detector.language_type(n) for n in ("Python", "JSON", "HTML", "Markdown")] == [
        "programming", "data", "markup", "prose"
    ]


def test_detector_survives_pickling(detector):
    """Beam ships the detector to workers by pickling it."""
    clone = pickle.loads(pickle.dumps(detector))
    for path, text, language in AMBIGUOUS:
        assert clone.detect(path, text) == language


# --- real files from this machine's Python installation ------------------------------


def _files(root: str, pattern: str) -> list[Path]:
    """Files under `root` matching `pattern`, leaving out installed third-party packages."""
    return sorted(p for p in Path(root).rglob(pattern) if p.is_file() and "site-packages" not in p.parts)


def _detect_all(detector, files) -> set:
    return {detector.detect(str(f), f.read_text("utf-8", errors="replace")) for f in files}


def test_every_stdlib_python_file_is_python(detector):
    files = _files(sysconfig.get_paths()["stdlib"], "*.py")
    assert len(files) > 500
    assert _detect_all(detector, files) == {"Python"}


def test_cpython_headers_are_c(detector):
    files = _files(sysconfig.get_paths()["include"], "*.h")
    if not files:
        pytest.skip("this Python installation ships no C headers")
    assert _detect_all(detector, files) == {"C"}


@pytest.mark.parametrize(
    "pattern, expected",
    [("*.pyi", {"Python"}), ("*.json", {"JSON"}), ("*.c", {"C"}), ("*.h", {"C", "C++", "Objective-C"}),
     ("*.dist-info/top_level.txt", {"Text"})],
)
def test_site_packages_files_get_their_languages(detector, pattern, expected):
    root = Path(sysconfig.get_paths()["purelib"])
    files = sorted(root.rglob(pattern))[:300]
    if not files:
        pytest.skip(f"no {pattern} under {root}")
    assert _detect_all(detector, files) <= expected
