"""What a store says is untrusted: names kept to their folder, no links followed, bytes checked.

A manifest read back from a store (a checkpoint's, a day partition's) names files and says
how long they are and what their SHA-256 is. Anyone who can write to the store can write a
manifest, so a name is used only when it is a plain file name inside its folder, a file is
opened without following a link on a local disk, and its bytes are counted and hashed while
they are read: reading stops at the size the manifest gives, and a file that is longer,
shorter or other than it says is refused before any of it is used.

Standard library only at import time.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
from collections.abc import Iterator
from typing import IO, Any

CHUNK = 1 << 20
_HEX = frozenset("0123456789abcdef")


class UntrustedError(ValueError):
    """A store's manifest or file that cannot be verified (its text says what and where)."""


def plain_name(name: object) -> str | None:
    """``name`` if it is a plain file name (no folder, no ``..``, nothing hidden), else None.

    :param name: a file name as a store's manifest gives it.
    """
    if not isinstance(name, str) or name in ("", ".", "..") or len(name) > 255:
        return None
    if "/" in name or "\\" in name or not name.isprintable():
        return None
    return name


def check_entry(entry: object, where: str) -> tuple[str, int, str]:
    """(name, size, sha256) of one file a manifest lists; refused unless each is well formed.

    :param entry: ``{"name" (or "chunk"), "bytes", "sha256", ...}`` from a manifest.
    :param where: the manifest, named in the error.
    :raises UntrustedError: a name that is not plain, a size that is no integer >= 0, or a
        digest that is no SHA-256 in hex.
    """
    if not isinstance(entry, dict):
        raise UntrustedError(f"{where}: a file entry is not an object")
    name = plain_name(entry.get("name", entry.get("chunk")))
    size, digest = entry.get("bytes"), entry.get("sha256")
    if name is None:
        raise UntrustedError(f"{where}: a file name that is not a plain name in its folder")
    if type(size) is not int or size < 0:
        raise UntrustedError(f"{where}: {name} has no size in bytes")
    if not isinstance(digest, str) or len(digest) != 64 or not _HEX.issuperset(digest):
        raise UntrustedError(f"{where}: {name} has no SHA-256")
    return name, size, digest


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def open_inside(fs: Any, folder: str, name: str) -> IO[bytes]:
    """Open ``folder/name`` to read; on a local disk a link or a device is refused.

    :param fs: the store's fsspec filesystem.
    :param folder: the folder (no scheme).
    :param name: a plain file name (:func:`plain_name`).
    :raises UntrustedError: the name is not plain, or (local) the file is a link or not a
        regular file.
    :raises OSError: it cannot be opened (absent, say).
    """
    if plain_name(name) is None:
        raise UntrustedError(f"{name!r} is not a plain file name in {folder}")
    path = posixpath.join(folder, name)
    if not _is_local(fs):
        return fs.open(path, "rb")
    path = fs._strip_protocol(path)
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        if os.path.islink(path):
            raise UntrustedError(f"{path} is a link; not followed") from None
        raise error
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise UntrustedError(f"{path} is not a regular file")
    return os.fdopen(handle, "rb")


def verified_chunks(source: IO[bytes], size: int, sha256: str, where: str) -> Iterator[bytes]:
    """The bytes of ``source``, never more than ``size`` read; raises at the end on a mismatch.

    A consumer must not use the bytes before the iterator is exhausted: the check comes last.

    :param source: the file, opened to read.
    :param size: the size its manifest gives; reading stops there (one byte more is asked to
        tell a longer file).
    :param sha256: the digest its manifest gives.
    :param where: the file, named in the error.
    :raises UntrustedError: it is shorter, longer or other than its manifest says.
    """
    digest, left = hashlib.sha256(), size
    while left > 0:
        data = source.read(min(CHUNK, left))
        if not data:
            raise UntrustedError(f"{where} is shorter than its manifest's {size} bytes")
        digest.update(data)
        left -= len(data)
        yield data
    if source.read(1):
        raise UntrustedError(f"{where} is longer than its manifest's {size} bytes")
    if digest.hexdigest() != sha256:
        raise UntrustedError(f"{where} does not match its manifest's SHA-256")


def copy_verified(
    fs: Any, folder: str, entry: tuple[str, int, str], local: str, where: str
) -> None:
    """Copy one listed file to the local file ``local``, checked as it is read.

    :param fs: the store's filesystem.
    :param folder: the file's folder (no scheme).
    :param entry: (name, size, sha256), from :func:`check_entry`.
    :param local: the local file written (what it holds is only to be used without an error).
    :param where: the manifest, named in errors.
    :raises UntrustedError: see :func:`open_inside` and :func:`verified_chunks`.
    :raises OSError: the file cannot be read.
    """
    name, size, digest = entry
    with open_inside(fs, folder, name) as source, open(local, "wb") as target:
        for data in verified_chunks(source, size, digest, f"{name} of {where}"):
            target.write(data)


def unlink_link(fs: Any, base: str, path: str) -> list[str]:
    """On a local disk, remove any link standing for a folder from ``base`` down to ``path``.

    Writing through such a link would write outside the target's folder; the link itself is
    inside it (a folder the provider owns), so it goes and a real folder takes its place.

    :param fs: the filesystem (nothing happens unless it is the local disk).
    :param base: the target's own folder, trusted as given.
    :param path: a folder below ``base``.
    :return: the links removed.
    """
    if not _is_local(fs):
        return []
    base, path = fs._strip_protocol(base), fs._strip_protocol(path)
    removed, current = [], base
    for part in posixpath.relpath(path, base).split("/"):
        if part in ("", ".", ".."):
            continue
        current = posixpath.join(current, part)
        if os.path.islink(current):
            os.unlink(current)
            removed.append(current)
    return removed


def is_link(fs: Any, path: str) -> bool:
    """Whether ``path`` is a link on a local disk (never, on an object store).

    :param fs: the filesystem.
    :param path: the path (no scheme).
    """
    return _is_local(fs) and os.path.islink(fs._strip_protocol(path))


def move_into_place(fs: Any, temp: str, path: str) -> None:
    """Move a finished temporary object to its name.

    On a local disk ``os.replace``, not ``fs.mv`` (``shutil.move``): a link in the object's
    place is replaced, never followed into the folder it points to.

    :param fs: the fsspec filesystem of the store.
    :param temp: the temporary object, next to ``path``.
    :param path: the object's name.
    """
    if _is_local(fs):
        os.replace(fs._strip_protocol(temp), fs._strip_protocol(path))
    else:
        fs.mv(temp, path)
