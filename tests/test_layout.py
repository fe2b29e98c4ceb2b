"""The source tree keeps its shape (DESIGN.md §2, STYLE.md): Beam only at the edge, and
no file grown past 500 lines."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 500


def _sources() -> list[Path]:
    return sorted(p for folder in ("stackpipe", "pipelines") for p in (ROOT / folder).rglob("*.py"))


def _imported_modules(path: Path) -> set[str]:
    """Every module an import statement of `path` names, wherever it stands (inside a
    function too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_only_the_beam_edge_and_pipelines_import_apache_beam():
    edge = (ROOT / "stackpipe" / "beam", ROOT / "pipelines")
    offenders = [str(path.relative_to(ROOT)) for path in _sources()
                 if not any(path.is_relative_to(folder) for folder in edge)
                 and any(name.split(".")[0] == "apache_beam" for name in _imported_modules(path))]
    assert offenders == []


def test_run_config_loads_without_beam():
    """`stackpipe.runconfig` and the rules are library code: importing them loads no Beam."""
    code = ("import sys, stackpipe.runconfig, stackpipe.rules; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'apache_beam'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"


def test_no_source_file_exceeds_500_lines():
    long = {str(path.relative_to(ROOT)): n for path in _sources()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
