"""Archives (.tar, .tar.gz/.tgz, .tar.zst, .zip), one repository each, read in memory.

Nothing is extracted to disk: members are read as streams, so a hostile name
(`../evil.py`, `/etc/passwd`) can do no harm and is only refused (`unsafe_path`). A
single top-level directory shared by every member (GitHub's `owner-name-sha/` wrapper)
is dropped from the paths. `ArchiveLimits` bounds what one archive may cost: past
`max_members` entries or `max_total_bytes` inflated bytes the rest is refused as
`archive_limit`; a zip member inflating more than `max_compression_ratio` is refused as
`compression_ratio`. A corrupt or truncated archive yields what was read before the
damage plus one `corrupt_input` record. A member whose name is not valid UTF-8 is refused
as `undecodable_path` (tarfile hands such a name on with surrogate escapes; zipfile
cannot open an archive holding one under the UTF-8 flag, so `_ZipNames` steps in).
"""

from __future__ import annotations

import contextlib
import stat
import struct
import tarfile
import zipfile
import zlib
from typing import IO, Iterator

from stackpipe.records import RawFile, Rejected
from stackpipe.rules import SourceRules
from stackpipe.sources.storage import open_raw
from stackpipe.sources.streams import CorruptStream, StreamLimit, decompressed
from stackpipe.sources.units import InputUnit, refuse, refuse_undecodable, size_refusal
from stackpipe.sources.uris import basename, common_top_dir, compression, is_unsafe_member, normalize_member

TAR_ERRORS = (tarfile.TarError, CorruptStream, EOFError, zlib.error, OSError)


def read_archive(unit: InputUnit, rules: SourceRules) -> Iterator[RawFile | Rejected]:
    """Every member of the archive `unit.uri` as a file of repository `unit.repo`."""
    if basename(unit.uri).lower().endswith(".zip"):
        return _read_zip(unit, rules)
    return _read_tar(unit, rules)


def _corrupt(unit: InputUnit, path: str, what: str) -> Rejected:
    return refuse(unit, path, "corrupt_input", f"archive {unit.uri!r}: {what}")


def _member_path(name: str, top: str | None) -> str:
    return name[len(top) + 1:] if top else name


# --- tar -----------------------------------------------------------------------------


def _open_tar(unit: InputUnit, rules: SourceRules) -> tuple[IO[bytes], tarfile.TarFile]:
    """A streaming tar reader over the inflated archive, bounded by max_total_bytes."""
    raw = open_raw(unit.uri)
    stream = decompressed(raw, compression(basename(unit.uri)), limit=rules.archive.max_total_bytes)
    try:
        return raw, tarfile.open(fileobj=stream, mode="r|")
    except BaseException:
        raw.close()
        raise


def _tar_members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """Members one by one without tarfile keeping every TarInfo (a million-entry tar)."""
    while (member := tar.next()) is not None:
        tar.members.clear()
        yield member


def _safe_tar_names(unit: InputUnit, rules: SourceRules) -> Iterator[str]:
    """First pass: safe member names (up to the member bound), to find a shared top
    directory. A stream cannot be rewound, so this reads the archive once more, but stops
    at the first member outside the top directory. Damage met here is reported by the
    second pass, which meets it too."""
    try:
        raw, tar = _open_tar(unit, rules)
        with raw, tar:
            for count, member in enumerate(_tar_members(tar)):
                if count >= rules.archive.max_members:
                    return
                name = normalize_member(member.name)
                if name and not is_unsafe_member(member.name):
                    yield name
    except (*TAR_ERRORS, StreamLimit):
        return


def _read_tar(unit: InputUnit, rules: SourceRules) -> Iterator[RawFile | Rejected]:
    with contextlib.closing(_safe_tar_names(unit, rules)) as names:
        top = common_top_dir(names)
    limits, limit = rules.archive, rules.max_file_bytes
    archive_path = basename(unit.uri)
    try:
        raw, tar = _open_tar(unit, rules)
    except StreamLimit:
        yield refuse(unit, archive_path, "archive_limit",
                     f"archive {unit.uri!r} inflated past max_total_bytes {limits.max_total_bytes:,} "
                     "before its first member")
        return
    except TAR_ERRORS as error:
        yield _corrupt(unit, archive_path, f"not a readable tar: {type(error).__name__}: {error}")
        return
    count, reading = 0, None  # `reading`: the member whose data is being read, for error records
    with raw, tar:
        try:
            for member in _tar_members(tar):
                count += 1
                if count > limits.max_members:
                    yield refuse(unit, member.name, "archive_limit",
                                 f"archive {unit.uri!r} has more than max_members {limits.max_members:,} entries; "
                                 "this member and the rest were not read")
                    return
                if member.isdir():
                    continue
                unsafe = is_unsafe_member(member.name)
                if unsafe:  # refuse() escapes a name that is also undecodable
                    yield refuse(unit, member.name, "unsafe_path", unsafe, member.size)
                    continue
                path = _member_path(normalize_member(member.name), top)
                refusal = _tar_refusal(unit, member, path, limit)
                if refusal is not None:
                    yield refusal
                    continue
                reading = path
                data = tar.extractfile(member).read()
                reading = None
                if len(data) != member.size:
                    yield _corrupt(unit, path, f"member ends after {len(data):,} of {member.size:,} bytes")
                    return
                yield RawFile(source=unit.source, repo=unit.repo, path=path, data=data, license=unit.license)
        except StreamLimit:
            yield refuse(unit, reading or archive_path, "archive_limit",
                         f"archive {unit.uri!r} inflated past max_total_bytes {limits.max_total_bytes:,} "
                         f"after {count:,} entries; the rest was not read")
        except TAR_ERRORS as error:
            yield _corrupt(unit, reading or archive_path,
                           f"damaged after {count:,} entries: {type(error).__name__}: {error}")


def _tar_refusal(unit: InputUnit, member: tarfile.TarInfo, path: str, limit: int) -> Rejected | None:
    """Why a member is not read, from its header alone; None to read it."""
    undecodable = refuse_undecodable(unit, path, member.size)
    if undecodable is not None:
        return undecodable
    if member.issym():
        return refuse(unit, path, "symlink", f"symbolic link to {member.linkname!r}")
    if member.islnk():
        return refuse(unit, path, "symlink", f"hard link to {member.linkname!r}")
    if not member.isreg():
        kind = {tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device",
                tarfile.FIFOTYPE: "fifo"}.get(member.type, f"tar entry of type {member.type!r}")
        return refuse(unit, path, "not_regular_file", f"{kind}, not a regular file")
    return size_refusal(unit, path, member.size, limit)  # from the header: the data is skipped, never held


# --- zip -----------------------------------------------------------------------------


def _read_zip(unit: InputUnit, rules: SourceRules) -> Iterator[RawFile | Rejected]:
    archive_path = basename(unit.uri)
    try:
        raw = open_raw(unit.uri)
    except OSError as error:
        yield _corrupt(unit, archive_path, f"cannot open: {error}")
        return
    with raw:
        names = _ZipNames(raw)
        try:
            archive = zipfile.ZipFile(names)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            yield _corrupt(unit, archive_path, f"not a readable zip: {error}")
            return
        names.patching = False  # the central directory is read: member data passes untouched
        with archive:
            infos = archive.infolist()
            for index, name in names.undecodable.items():
                if index < len(infos):
                    infos[index].filename = name  # as tarfile and os.scandir hand such a name on
            yield from _zip_members(unit, archive, rules)


class _ZipNames:
    """The zip's file object, as zipfile sees it while reading the central directory.

    An entry flagged as having a UTF-8 name (general purpose bit 11) whose name is not
    valid UTF-8 makes zipfile refuse the whole archive (UnicodeDecodeError). Here such an
    entry loses the flag, so zipfile decodes its name as cp437 and reads on; its name is
    kept in `undecodable` (entry index -> name with surrogate escapes) to be refused.
    """

    CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # zipfile's structCentralDir
    SIGNATURE = b"PK\x01\x02"
    UTF8_FLAG = 1 << 11

    def __init__(self, raw: IO[bytes]):
        self._raw = raw
        self.patching = True
        self.undecodable: dict[int, str] = {}

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if self.patching and data[:4] == self.SIGNATURE:  # zipfile reads the central directory in one call
            data = self._unflag(data)
        return data

    def _unflag(self, data: bytes) -> bytes:
        self.undecodable = {}  # the last such read is the central directory's (an earlier one: the end-record search)
        patched, pos, index = bytearray(data), 0, 0
        while data[pos:pos + 4] == self.SIGNATURE and pos + self.CENTRAL.size <= len(data):
            fields = self.CENTRAL.unpack_from(data, pos)
            flags, name_length = fields[5], fields[12]
            start = pos + self.CENTRAL.size
            name = data[start:start + name_length]
            if flags & self.UTF8_FLAG:
                try:
                    name.decode("utf-8")
                except UnicodeDecodeError:
                    struct.pack_into("<H", patched, pos + 8, flags & ~self.UTF8_FLAG)
                    self.undecodable[index] = name.decode("utf-8", "surrogateescape")
            pos = start + name_length + fields[13] + fields[14]  # + extra field + comment
            index += 1
        return bytes(patched) if self.undecodable else data

    def __getattr__(self, name: str):  # seek, tell, seekable, ...: the file's own
        return getattr(self._raw, name)


def _zip_members(unit: InputUnit, archive: zipfile.ZipFile, rules: SourceRules) -> Iterator[RawFile | Rejected]:
    limits, limit = rules.archive, rules.max_file_bytes
    infos = archive.infolist()
    safe = (normalize_member(i.filename) for i in infos if not is_unsafe_member(i.filename))
    top = common_top_dir(name for name in safe if name)
    total = 0
    for index, info in enumerate(infos):
        if index >= limits.max_members:
            yield refuse(unit, info.filename, "archive_limit",
                         f"archive {unit.uri!r} has {len(infos):,} entries, more than max_members "
                         f"{limits.max_members:,}; this member and the {len(infos) - index - 1:,} after it were not read")
            return
        if info.is_dir():
            continue
        unsafe = is_unsafe_member(info.filename)
        if unsafe:
            yield refuse(unit, info.filename, "unsafe_path", unsafe, info.file_size)
            continue
        path = _member_path(normalize_member(info.filename), top)
        refusal = _zip_refusal(unit, info, path, rules)
        if refusal is not None:
            yield refusal
            continue
        total += info.file_size
        if total > limits.max_total_bytes:
            yield refuse(unit, path, "archive_limit",
                         f"archive {unit.uri!r} inflates past max_total_bytes {limits.max_total_bytes:,} at this "
                         "member; it and the rest were not read", info.file_size)
            return
        try:
            with archive.open(info) as member:
                data = member.read(limit + 1)  # zipfile stops at the declared size and checks the CRC
        except RuntimeError as error:  # zipfile's way of saying "encrypted"
            yield refuse(unit, path, "encrypted", f"archive {unit.uri!r}: {error}", info.file_size)
            continue
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as error:
            yield _corrupt(unit, path, f"member unreadable: {type(error).__name__}: {error}")
            continue
        yield RawFile(source=unit.source, repo=unit.repo, path=path, data=data, license=unit.license)


def _zip_refusal(unit: InputUnit, info: zipfile.ZipInfo, path: str, rules: SourceRules) -> Rejected | None:
    """Why a member is not read, from the central directory alone; None to read it."""
    undecodable = refuse_undecodable(unit, path, info.file_size)
    if undecodable is not None:
        return undecodable
    mode = info.external_attr >> 16  # unix mode bits, when a unix zip wrote them
    if stat.S_ISLNK(mode):
        return refuse(unit, path, "symlink", "symbolic link stored in the zip")
    if mode and stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        return refuse(unit, path, "not_regular_file", f"zip entry of mode {oct(mode)}, not a regular file")
    size = size_refusal(unit, path, info.file_size, rules.max_file_bytes)
    if size is not None:
        return size
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > rules.archive.max_compression_ratio:
        return refuse(unit, path, "compression_ratio",
                      f"member inflates {info.compress_size:,} bytes to {info.file_size:,} (ratio {ratio:,.0f} > "
                      f"max_compression_ratio {rules.archive.max_compression_ratio:g})", info.file_size)
    return None
