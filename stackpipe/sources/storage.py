"""Listing and opening inputs wherever they live: local disk, S3, GCS, HTTP(S).

Reads always go through `smart_open` (with compression handled by `streams`, not by
smart_open, so truncation and bombs are caught here). Listing uses os.scandir locally,
boto3's list_objects_v2 paginator on S3 (which honours AWS_ENDPOINT_URL by itself), and
google-cloud-storage on GCS. One client per process is reused for every open: creating
one per file would cost more than reading a small file.
"""

from __future__ import annotations

import functools
import os
import stat
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import IO, Iterator

import smart_open

from stackpipe.sources.units import SourceError
from stackpipe.sources.uris import glob_regex, local_path, scheme

LIST_PAGE = 1000


@dataclass(frozen=True)
class Entry:
    """One non-directory entry of a tree walk.

    kind: "file", "symlink" (target in `detail`), "special" (device, fifo, socket:
    described in `detail`) or "unreadable" (a directory the walk could not list).
    rel: the path below the walked root, `/`-separated.
    """

    uri: str
    rel: str
    size: int
    kind: str = "file"
    detail: str = ""


def open_raw(uri: str) -> IO[bytes]:
    """The stored bytes of `uri`, seekable where the store allows, never decompressed."""
    return smart_open.open(uri, "rb", compression="disable", transport_params=_transport(uri))


def _transport(uri: str) -> dict | None:
    kind = scheme(uri)
    if kind == "s3":
        return {"client": s3_client()}
    if kind == "gs":
        return {"client": gcs_client()}
    return None


# --- object store clients -----------------------------------------------------------


def s3_client():
    """The process's boto3 S3 client; a new one when the endpoint or credentials change."""
    keys = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_PROFILE")
    return _s3_client(tuple(os.environ.get(k, "") for k in keys))


@functools.lru_cache(maxsize=4)
def _s3_client(_env: tuple[str, ...]):
    import boto3

    return boto3.client("s3")


@functools.lru_cache(maxsize=1)
def gcs_client():
    from google.cloud import storage

    return storage.Client()


def split_bucket(uri: str) -> tuple[str, str]:
    """`s3://bucket/a/b` -> ("bucket", "a/b")."""
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key


def _list_objects(uri_prefix: str) -> Iterator[tuple[str, int]]:
    """(key, size) of every object under a bucket prefix, in the store's (sorted) order."""
    bucket, prefix = split_bucket(uri_prefix)
    if scheme(uri_prefix) == "s3":
        pages = s3_client().get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE})
        for page in pages:
            for item in page.get("Contents", ()):
                yield item["Key"], item["Size"]
    else:
        for blob in gcs_client().list_blobs(bucket, prefix=prefix):
            yield blob.name, blob.size


def _list_prefixes(uri_prefix: str) -> tuple[list[str], list[tuple[str, int]]]:
    """One level below a bucket prefix: (child "directory" names, (file name, size))."""
    bucket, prefix = split_bucket(uri_prefix)
    dirs, files = [], []
    if scheme(uri_prefix) == "s3":
        pages = s3_client().get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/", PaginationConfig={"PageSize": LIST_PAGE})
        for page in pages:
            dirs += [p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes", ())]
            files += [(o["Key"][len(prefix):], o["Size"]) for o in page.get("Contents", ())]
    else:
        blobs = gcs_client().list_blobs(bucket, prefix=prefix, delimiter="/")
        files = [(b.name[len(prefix):], b.size) for b in blobs]  # prefixes fill in once iterated
        dirs = [p[len(prefix):].rstrip("/") for p in blobs.prefixes]
    return sorted(dirs), sorted((name, size) for name, size in files if name)


# --- what is at a URI ---------------------------------------------------------------


def stat_uri(uri: str) -> str | None:
    """"file", "dir", or None when nothing is there."""
    kind = scheme(uri)
    if kind == "file":
        path = local_path(uri)
        return "dir" if os.path.isdir(path) else "file" if os.path.lexists(path) else None
    if kind in ("http", "https"):
        return "file" if _http_exists(uri) else None
    bucket, key = split_bucket(uri)
    if key and not key.endswith("/") and _object_exists(uri):
        return "file"
    prefix = uri.rstrip("/") + "/" if key else uri
    return "dir" if next(_list_objects(prefix), None) is not None else None


def _object_exists(uri: str) -> bool:
    bucket, key = split_bucket(uri)
    if scheme(uri) == "s3":
        from botocore.exceptions import ClientError

        try:
            s3_client().head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True
    return gcs_client().bucket(bucket).blob(key).exists()


def _http_exists(uri: str) -> bool:
    request = urllib.request.Request(uri, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=30):
            return True
    except urllib.error.HTTPError as error:
        return error.code not in (404, 410)  # a server that refuses HEAD (405) may still serve GET
    except urllib.error.URLError as error:
        raise SourceError(f"input {uri!r} cannot be reached: {error.reason}") from None


def expand_glob(pattern: str) -> list[str]:
    """URIs matching a glob; on object stores only objects match (there are no directories)."""
    kind = scheme(pattern)
    if kind == "file":
        import glob

        prefix = "file://" if pattern.startswith("file://") else ""
        return sorted(prefix + p for p in glob.glob(local_path(pattern), recursive=True))
    if kind not in ("s3", "gs"):
        raise SourceError(f"input {pattern!r}: globs are supported on local paths, s3:// and gs:// only")
    head = pattern[: next(i for i, c in enumerate(pattern) if c in "*?[")]
    root = head[: head.rfind("/") + 1]  # list from the last full segment before the wildcard
    root_key = split_bucket(root)[1]
    matcher = glob_regex(pattern[len(root):])
    return sorted(root + key[len(root_key):] for key, _ in _list_objects(root) if matcher.match(key[len(root_key):]))


def list_children(uri: str) -> tuple[list[str], list[tuple[str, int]]]:
    """One level of a directory: sorted (subdirectory names, (file name, size)).

    Local symlinks count as files here: they are refused when read, never followed.
    """
    if scheme(uri) != "file":
        return _list_prefixes(uri.rstrip("/") + "/")
    dirs, files = [], []
    with os.scandir(local_path(uri)) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                dirs.append(entry.name)
            else:
                files.append((entry.name, 0))
    return sorted(dirs), sorted(files)


def walk(uri: str, skip_dirs: tuple[str, ...] | frozenset[str] = ()) -> Iterator[Entry]:
    """Every non-directory entry below `uri`, depth-first in sorted name order.

    Directories named in `skip_dirs` are not entered. Lazy, so a caller that has seen
    enough can stop without listing the rest.
    """
    skip = frozenset(skip_dirs)
    if scheme(uri) == "file":
        yield from _walk_local(local_path(uri), skip)
        return
    prefix = uri.rstrip("/") + "/"
    key_prefix = split_bucket(prefix)[1]
    for key, size in _list_objects(prefix):
        rel = key[len(key_prefix):]
        if not rel or rel.endswith("/"):
            continue  # a "directory marker" object some tools write
        if skip and not skip.isdisjoint(rel.split("/")[:-1]):
            continue
        yield Entry(prefix + rel, rel, size)


def _walk_local(root: str, skip: frozenset[str]) -> Iterator[Entry]:
    stack = [(root, "")]  # explicit stack: a deep tree must not hit the recursion limit
    while stack:
        directory, rel_dir = stack.pop()
        try:
            with os.scandir(directory) as scanned:
                entries = sorted(scanned, key=lambda e: e.name)
        except OSError as error:
            yield Entry(directory, rel_dir.rstrip("/") or ".", 0, "unreadable",
                        f"cannot list directory: {error.strerror or error}")
            continue
        subdirs = []
        for entry in entries:
            rel = rel_dir + entry.name
            if entry.is_symlink():
                yield Entry(entry.path, rel, 0, "symlink", _link_target(entry.path))
            elif entry.is_dir(follow_symlinks=False):
                if entry.name not in skip:
                    subdirs.append((entry.path, rel + "/"))
            else:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError as error:  # gone since the listing, or no permission
                    yield Entry(entry.path, rel, 0, "unreadable", f"cannot stat: {error.strerror or error}")
                    continue
                yield _stat_entry(entry.path, rel, info)
        # files of a directory come before its subdirectories, each in name order
        stack.extend(reversed(subdirs))


def local_entry(path: str, rel: str) -> Entry:
    """The Entry of one local path, without following a symlink."""
    try:
        info = os.lstat(path)
    except OSError as error:
        return Entry(path, rel, 0, "unreadable", f"cannot stat {path!r}: {error.strerror or error}")
    if stat.S_ISLNK(info.st_mode):
        return Entry(path, rel, 0, "symlink", _link_target(path))
    return _stat_entry(path, rel, info)


def _stat_entry(path: str, rel: str, info: os.stat_result) -> Entry:
    if stat.S_ISREG(info.st_mode):
        return Entry(path, rel, info.st_size)
    return Entry(path, rel, 0, "special", _special_kind(info.st_mode))


def _link_target(path: str) -> str:
    try:
        return f"symbolic link to {os.readlink(path)!r}"
    except OSError:
        return "symbolic link"


def _special_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return f"file of mode {oct(mode)}"
