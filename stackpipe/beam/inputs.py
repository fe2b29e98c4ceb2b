"""Where a stage reads another stage's documents, only once that stage has finished, and
the transform that reads them."""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.parquetio import ReadFromParquet

from stackpipe.outputs import STATS_NAME, IncompleteInputError, incompleteness
from stackpipe.records import row_to_record


def _names(pattern: str) -> list[str]:
    return sorted(FileSystems.split(m.path)[1] for m in FileSystems.match([pattern])[0].metadata_list)


def completed_documents(directory: str) -> str | None:
    """The glob of DIRECTORY/documents/*.parquet once the job that wrote it has finished;
    DIRECTORY/*.parquet for a plain Parquet table (not a stackpipe output); None when
    neither holds a file. Raises IncompleteInputError for a killed or mixed output."""
    pattern = FileSystems.join(directory, "documents", "*.parquet")
    present = _names(pattern)
    if present:
        record_path = FileSystems.join(directory, STATS_NAME)
        record = None
        if FileSystems.exists(record_path):
            with FileSystems.open(record_path) as handle:
                try:
                    record = json.load(handle)
                except ValueError as error:
                    raise IncompleteInputError(f"{record_path} is not valid JSON ({error}); rerun the job that "
                                               f"produces {directory}") from None
        problem = incompleteness(directory, record, present)
        if problem:
            raise IncompleteInputError(problem)
        return pattern
    table = FileSystems.join(directory, "*.parquet")
    return table if _names(table) else None


class ReadDocuments(beam.PTransform):
    """Parquet documents (a glob) -> FileRecords, or packed samples when they have `files`."""

    def __init__(self, pattern: str):
        super().__init__()
        self._pattern = pattern

    def expand(self, pbegin):
        return (pbegin
                | "ReadParquet" >> ReadFromParquet(self._pattern)
                | "ToRecords" >> beam.Map(row_to_record))
