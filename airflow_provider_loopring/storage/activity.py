"""The NFT activity dataset's state in its store: the cursor, and the block ranges written.

Layout, next to the snapshot datasets under the same root::

    <root>/nft_activity/_cursor.json
    <root>/nft_activity/dt=2026-12-01/blocks-000000000101-000000000200.jsonl ... _manifest.json

A day's partition holds one file per range of blocks read, named by the range. Its
``_manifest.json`` (written last, as every partition's: :mod:`.snapshots`) lists the files and
says which blocks the day holds (``first_block`` .. ``last_block``, both included) and each
range's blocks and the accounts they name. While a run is under way, ``_ranges.json`` in the
partition lists the ranges finished so far, each written whole before it is listed: the
checkpoint a retry starts from. The commit removes it.

The cursor (``_cursor.json``, written after the manifest) is the last block the latest run
read, the day it went to, and that day's first block: the next run reads on from there.

Everything read back is untrusted: the cursor's shape and numbers are checked and compared
with the manifest of the day it names. A manifest of that day with the same first block and a
later last block, whose ranges run without a gap to it and verify, is newer than the cursor (a
run that stopped between the two writes finished its blocks): it is taken. A day without its
manifest (a run of it stopped after marking it incomplete) must list the cursor's blocks in
its checkpoint, and only a run of that day goes on from such a cursor. A range is taken
back only when its name, its numbers and its file (size and SHA-256, read through
:mod:`.confined`) are what was written, and only ranges that follow each other without a gap
from the day's first block. What fails is read again from Loopring; nothing is skipped.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_loopring.storage.confined import (
    UntrustedError,
    check_entry,
    is_link,
    open_inside,
    unlink_link,
)
from airflow_provider_loopring.storage.files import write_whole
from airflow_provider_loopring.storage.snapshots import (
    MANIFEST,
    object_path,
    partition,
    read_manifest,
    verified_files,
)

log = logging.getLogger(__name__)

KIND = "nft_activity"
CURSOR = "_cursor.json"
RANGES = "_ranges.json"
VERSION = 1
MAX_STATE = 64 << 20  # a cursor is ~100 bytes; a day's ranges list the accounts they name
_RANGE_NAME = re.compile(r"blocks-(\d{12})-(\d{12})\.(jsonl|json|parquet)")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ADDRESS = re.compile(r"0x[0-9a-f]{1,64}")


def range_name(first: int, last: int, extension: str) -> str:
    """The file name of a range of blocks: ``blocks-<first>-<last>.<extension>``, zero-padded.

    :param first: its first block.
    :param last: its last block.
    :param extension: ``jsonl``, ``json`` or ``parquet``.
    """
    return f"blocks-{first:012d}-{last:012d}.{extension}"


@dataclass(frozen=True)
class Cursor:
    """Where the latest run stopped.

    :param day: the day partition it wrote.
    :param first_block: that day's first block.
    :param last_block: the last block it read (the day's last).
    :param complete: whether its day has its manifest (not written: it is what the store says).
    """

    day: str
    first_block: int
    last_block: int
    complete: bool = True


@dataclass(frozen=True)
class BlockRange:
    """One range of blocks read and written whole: its file and what its blocks name.

    :param name: the file's name in the partition (:func:`range_name`).
    :param first_block: the range's first block.
    :param last_block: its last block.
    :param records: the NFT moves the file holds.
    :param bytes: the file's size.
    :param sha256: the file's SHA-256, hex.
    :param account_ids: every account id the range's transactions name, sorted.
    :param addresses: every address they name without an id, lowercase, sorted.
    """

    name: str
    first_block: int
    last_block: int
    records: int
    bytes: int
    sha256: str
    account_ids: tuple[int, ...] = ()
    addresses: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The range as the manifest and the checkpoint list it."""
        data = asdict(self)
        data["account_ids"], data["addresses"] = list(self.account_ids), list(self.addresses)
        return data


def _number(value: object) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _read_json(fs: Any, folder: str, name: str) -> Any:
    with open_inside(fs, folder, name) as source:
        text = source.read(MAX_STATE + 1)
    if len(text) > MAX_STATE:
        raise UntrustedError(f"{name} is over {MAX_STATE} bytes")
    try:
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UntrustedError(f"{name} is not JSON ({error})") from None


def read_cursor(root: str, *, conn_id: str | None) -> Cursor | None:
    """The cursor of the dataset under ``root``, verified; None when there is none yet.

    :param root: the output root URL.
    :param conn_id: the Airflow connection with the storage's credentials.
    :raises UntrustedError: it is not what :func:`write_cursor` writes (not JSON, another
        version, a day or a block that is no such thing, a first block after the last + 1),
        or the manifest of its day says other blocks (and is not the newer: see the module),
        or its day has no manifest and its checkpoint does not start at its first block.
    """
    base = object_path(f"{root.rstrip('/')}/{KIND}", conn_id)
    where = f"{root.rstrip('/')}/{KIND}/{CURSOR}"
    if is_link(base.fs, base.path):
        raise UntrustedError(f"{root.rstrip('/')}/{KIND} is a link; not followed")
    if not (base / CURSOR).exists():
        return None
    data = _read_json(base.fs, base.path, CURSOR)
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise UntrustedError(f"{where} is not a cursor of version {VERSION}")
    day, first, last = data.get("day"), data.get("first_block"), data.get("last_block")
    if not (isinstance(day, str) and _DAY.fullmatch(day)):
        raise UntrustedError(f"{where}: its day {day!r} is no YYYY-MM-DD")
    first, last = _number(first), _number(last)
    if first is None or last is None or first > last + 1:
        raise UntrustedError(f"{where}: its blocks are no range (first_block <= last_block + 1)")
    folder = partition(root, KIND, day)
    manifest = read_manifest(folder, conn_id=conn_id)
    if manifest is None:
        _check_checkpoint(folder, first, where, conn_id)
        return Cursor(day, first, last, complete=False)
    said, newer = manifest.get("first_block"), _number(manifest.get("last_block"))
    if (said, newer) == (first, last):
        return Cursor(day, first, last)
    if (
        said == first
        and newer is not None
        and newer > last
        and _verified_to(folder, manifest, first, newer, conn_id)
    ):
        log.warning(
            "%s says blocks %d..%d for %s, its %s %d..%d: the run that wrote it stopped before "
            "its cursor. The manifest is taken.",
            where, first, last, day, MANIFEST, first, newer,
        )  # fmt: skip
        return Cursor(day, first, newer)
    raise UntrustedError(
        f"{where} says blocks {first}..{last} for {day}, but that day's {MANIFEST} says "
        f"{said}..{manifest.get('last_block')}"
    )


def _verified_to(
    folder: str, manifest: dict[str, Any], first: int, last: int, conn_id: str | None
) -> bool:
    """Whether the manifest's ranges run from ``first`` to ``last`` and their files verify."""
    base = object_path(folder, conn_id)
    if is_link(base.fs, base.path):
        return False
    ranges = manifest.get("ranges")
    if not (isinstance(ranges, list) and ranges and isinstance(ranges[-1], dict)):
        return False
    extension = str(ranges[-1].get("name", "")).rpartition(".")[2]
    where = f"{folder}/{MANIFEST}"
    taken = _verified(folder, ranges, first, extension, None, conn_id, where)
    return len(taken) == len(ranges) and taken[-1].last_block == last


def _check_checkpoint(folder: str, first: int, where: str, conn_id: str | None) -> None:
    """A cursor whose day has no manifest: a re-run of its day began (it writes its checkpoint
    before it removes the manifest), so the checkpoint must start at the cursor's first block.
    It may list fewer blocks than the cursor (a range taken back damaged, another format, a
    failure before the re-run read as far): only a run of that day may go on from such a
    cursor, and it reads every block after its checkpoint again."""
    base = object_path(folder, conn_id)
    if is_link(base.fs, base.path):
        raise UntrustedError(f"{folder} is a link; not followed")
    if (base / RANGES).exists():
        data = _read_json(base.fs, base.path, RANGES)
        if isinstance(data, dict) and _number(data.get("first_block")) == first:
            return
    raise UntrustedError(
        f"{where} names {first} as the first block of a day with no {MANIFEST}, and its "
        f"{RANGES} does not start there"
    )


def write_cursor(root: str, cursor: Cursor, *, conn_id: str | None) -> None:
    """Write the cursor whole, after the day's manifest.

    :param root: the output root URL.
    :param cursor: where the run stopped.
    :param conn_id: the Airflow connection with the storage's credentials.
    """
    base = object_path(f"{root.rstrip('/')}/{KIND}", conn_id)
    data = {"version": VERSION, **asdict(cursor)}
    del data["complete"]  # what the store says when the cursor is read, not the cursor's
    write_whole(base.fs, f"{base.path}/{CURSOR}", json.dumps(data).encode())


def save_ranges(folder: str, first_block: int, ranges: Sequence[BlockRange], **kw: Any) -> None:
    """The checkpoint: the ranges finished so far, listed whole (``_ranges.json``).

    :param folder: the day partition's URL.
    :param first_block: the day's first block.
    :param ranges: every range finished, in order.
    :param kw: ``conn_id``, the Airflow connection with the storage's credentials.
    """
    base = object_path(folder, kw.get("conn_id"))
    # A link standing for the day's folder (or the dataset's) goes before anything is written
    # there; the output root, two folders up, is the run's own.
    unlink_link(base.fs, posixpath.dirname(posixpath.dirname(base.path)), base.path)
    data = {
        "version": VERSION,
        "first_block": first_block,
        "ranges": [item.to_json() for item in ranges],
    }
    write_whole(base.fs, f"{base.path}/{RANGES}", json.dumps(data).encode())


def finished_ranges(
    folder: str, first_block: int, extension: str, end_block: int | None, *, conn_id: str | None
) -> list[BlockRange]:
    """The ranges an earlier run or try of the day wrote that can be taken back.

    The checkpoint (``_ranges.json``) and the day's manifest are both read; each gives the
    ranges that follow each other from ``first_block`` and whose files verify, up to the first
    that does not (or that ends after ``end_block``). The longer list wins.

    :param folder: the day partition's URL.
    :param first_block: the day's first block: ranges must start there.
    :param extension: the run's format's extension: files of another are not taken.
    :param end_block: the last block the run may hold; None: no bound.
    :param conn_id: the Airflow connection with the storage's credentials.
    """
    base = object_path(folder, conn_id)
    best: list[BlockRange] = []
    if is_link(base.fs, base.path):
        log.warning("%s is a link: nothing in it is taken back; its blocks are read again.", folder)
        return best
    for name in (RANGES, MANIFEST):
        if not (base / name).exists():
            continue
        try:
            listed = _listed(_read_json(base.fs, base.path, name), first_block)
        except (OSError, ValueError) as error:
            log.warning("%s/%s not used (%s): its blocks are read again.", folder, name, error)
            continue
        where = f"{folder}/{name}"
        taken = _verified(folder, listed, first_block, extension, end_block, conn_id, where)
        if len(taken) > len(best):
            best = taken
    return best


def _listed(data: Any, first_block: int) -> list[Any]:
    if not isinstance(data, dict) or not isinstance(data.get("ranges"), list):
        raise UntrustedError("no list of ranges")
    if data.get("first_block") != first_block:
        return []  # another day's start: none of its ranges is this run's
    return list(data["ranges"])


def _verified(
    folder: str,
    listed: list[Any],
    first_block: int,
    extension: str,
    end_block: int | None,
    conn_id: str | None,
    where: str,
) -> list[BlockRange]:
    """The listed ranges that follow each other from ``first_block``, up to the first that
    cannot be taken back: its entry, or its file (:func:`~.snapshots.verified_files`)."""
    ranges: list[BlockRange] = []
    expected = first_block
    try:
        for item in listed:
            block_range = _block_range(item, where)
            if block_range.first_block != expected:
                raise UntrustedError(f"{block_range.name} does not start at block {expected}")
            if not block_range.name.endswith(f".{extension}"):
                raise UntrustedError(f"{block_range.name} is of another format")
            if end_block is not None and block_range.last_block > end_block:
                break
            ranges.append(block_range)
            expected = block_range.last_block + 1
    except ValueError as error:
        log.warning("%s: a range not taken back (%s); its blocks are read again.", where, error)
    taken: list[BlockRange] = []
    files = {"files": [item.to_json() for item in ranges]}
    try:
        for _, block_range in zip(verified_files(folder, files, conn_id), ranges, strict=False):
            taken.append(block_range)  # yielded: its file is the one listed
    except (OSError, ValueError) as error:
        log.warning("%s: a range not taken back (%s); its blocks are read again.", where, error)
    return taken


def _block_range(item: Any, where: str) -> BlockRange:
    name, size, digest = check_entry(item, where)
    match = _RANGE_NAME.fullmatch(name)
    first, last, records = (_number(item.get(k)) for k in ("first_block", "last_block", "records"))
    if match is None or first is None or last is None or records is None:
        raise UntrustedError(f"{name}: not a range of blocks as written")
    if (int(match.group(1)), int(match.group(2))) != (first, last) or first > last:
        raise UntrustedError(f"{name}: its blocks are not those its name says")
    ids, addresses = item.get("account_ids"), item.get("addresses")
    if not (isinstance(ids, list) and all(_number(i) for i in ids)):
        raise UntrustedError(f"{name}: its account ids are no list of ids")
    if not (isinstance(addresses, list) and all(_is_address(a) for a in addresses)):
        raise UntrustedError(f"{name}: its addresses are no list of addresses")
    return BlockRange(name, first, last, records, size, digest, tuple(ids), tuple(addresses))


def _is_address(value: object) -> bool:
    return isinstance(value, str) and _ADDRESS.fullmatch(value) is not None


def file_entries(folder: str, ranges: Sequence[BlockRange]) -> list[dict[str, Any]]:
    """The ranges' files as :func:`~.snapshots.commit_partition` takes them.

    :param folder: the day partition's URL.
    :param ranges: the ranges, in order.
    """
    return [
        {
            "path": posixpath.join(folder, item.name),
            "records": item.records,
            "bytes": item.bytes,
            "sha256": item.sha256,
        }
        for item in ranges
    ]
