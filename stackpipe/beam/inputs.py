"""Where a stage reads another stage's documents, and only once that stage has finished."""

from __future__ import annotations

import json

from apache_beam.io.filesystems import FileSystems

from stackpipe.outputs import STATS_NAME, IncompleteInputError, incompleteness


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
