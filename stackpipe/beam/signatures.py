"""What identifies the content of `stackpipe run`'s inputs without reading them all, for
the sources' fingerprints (stackpipe.runconfig): installed distributions by name and
version, local files and folders by size and modification time, anything remote by what
Beam's filesystems list for it (so gs://, s3:// and the rest work alike)."""

from __future__ import annotations

import os
import sys
from importlib import metadata

from apache_beam.io.filesystems import FileSystems

from stackpipe.runconfig import digest
from stackpipe.sources import InputUnit


def unit_signature(unit: InputUnit) -> list:
    """Installed distributions by name and version, anything else by `uri_signature`."""
    base = [unit.kind, unit.uri, unit.repo, unit.part, unit.source, unit.license]
    if unit.kind == "python_env":
        name = unit.uri.rsplit("/", 1)[-1]
        try:
            version = metadata.version(name) if name != "stdlib" else sys.version
        except metadata.PackageNotFoundError:
            version = ""
        return base + [version]
    return base + uri_signature(unit.uri)


def uri_signature(uri: str) -> list:
    """Local files and folders by (relative path, size, mtime); anything remote by its
    listed size and modification time."""
    local = uri[len("file://"):] if uri.startswith("file://") else uri.split("?", 1)[0]
    if "://" not in local and os.path.isdir(local):
        entries = []
        for folder, _, files in os.walk(local):
            for name in files:
                full = os.path.join(folder, name)
                try:
                    stat = os.stat(full)
                except OSError:
                    continue
                entries.append((os.path.relpath(full, local), stat.st_size, stat.st_mtime_ns))
        return [digest(sorted(entries))]
    if "://" not in local and os.path.exists(local):
        stat = os.stat(local)
        return [stat.st_size, stat.st_mtime_ns]
    listed = FileSystems.match([uri])[0].metadata_list
    return [[(m.path, m.size_in_bytes, m.last_updated_in_seconds) for m in listed]]
