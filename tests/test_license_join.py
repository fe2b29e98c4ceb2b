"""The licence join of `stackpipe curate` (pipelines.curate.licence_maps): licence maps are
built from licence files and (repo, stated licence) keys only, one per key."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.curate import licence_maps
from stackpipe.records import RawFile

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MIT = b"""MIT License

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR
OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def raw(repo: str, path: str, data: bytes, license: str = "") -> RawFile:
    return RawFile(source="test", repo=repo, path=path, data=data, license=license)


def test_one_map_per_repository_and_stated_licence():
    code = (STDLIB / "textwrap.py").read_bytes()
    files = [raw("acme/mit", "LICENSE", MIT), raw("acme/mit", "a.py", code), raw("acme/mit", "b.py", code),
             raw("acme/table", "x.py", code, "Apache-2.0"), raw("acme/table", "y.py", code, "BSD-3-Clause")]
    with BeamTestPipeline(runner=FnApiRunner()) as pipeline:
        maps = licence_maps(pipeline | beam.Create(files))
        decided = maps | beam.Map(lambda kv: (kv[0], kv[1].license_for("a.py")))
        assert_that(decided, equal_to([(("acme/mit", ""), "MIT"), (("acme/table", "Apache-2.0"), "Apache-2.0"),
                                       (("acme/table", "BSD-3-Clause"), "BSD-3-Clause")]))


def test_the_licence_join_carries_no_file_contents():
    code = (STDLIB / "textwrap.py").read_bytes()
    files = [raw("acme/mit", "LICENSE", MIT)] + [raw("acme/mit", f"m{i}.py", code) for i in range(50)]
    with BeamTestPipeline(runner=FnApiRunner()) as pipeline:
        maps = licence_maps(pipeline | beam.Create(files))
        carried = maps | beam.Map(lambda kv: code.decode() in repr(kv[1]))
        assert_that(carried, equal_to([False]))
