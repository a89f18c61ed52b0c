"""The hash chain: each record carries the previous record's hash and its own.

``hash`` is SHA-256 over the record's canonical JSON (sorted keys, no spaces,
UTF-8) without the ``hash`` field; ``prev`` is the previous record's ``hash``,
or ``GENESIS`` for a file's first record. Editing, removing, reordering or
inserting any record breaks the chain from that point on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
_TAIL_BYTES = 1 << 20


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a record's hash covers."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(record: dict[str, Any], prev: str) -> dict[str, Any]:
    """``record`` linked after ``prev``, with its own hash."""
    linked = {**record, "prev": prev}
    linked["hash"] = hashlib.sha256(canonical(linked)).hexdigest()
    return linked


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where a chain ends: the last record's hash and sequence number."""

    hash: str = GENESIS
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of checking a file: records read and the first problem, if any."""

    records: int
    head: ChainHead
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _check(line: str, number: int, head: ChainHead) -> tuple[ChainHead, str | None]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return head, f"line {number}: not JSON ({exc.msg})"
    if not isinstance(record, dict):
        return head, f"line {number}: not a JSON object"
    if record.get("prev") != head.hash:
        return head, f"line {number}: 'prev' does not match the previous record's hash (removed or reordered?)"
    if record.get("hash") != hashlib.sha256(canonical(record)).hexdigest():
        return head, f"line {number}: 'hash' does not match the record's content (edited?)"
    if record.get("seq") != head.seq + 1:
        return head, f"line {number}: 'seq' is {record.get('seq')}, expected {head.seq + 1}"
    return ChainHead(record["hash"], record["seq"]), None


def verify(path: Path) -> Verification:
    """Check every record of ``path`` in order; stops at the first break."""
    head, count = ChainHead(), 0
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            head, problem = _check(line, number, head)
            if problem is not None:
                return Verification(count, head, problem)
            count += 1
    return Verification(count, head)


def resume(path: Path) -> ChainHead:
    """The head of an existing log, so a restarted guardd extends its chain; GENESIS for a new file.

    Raises ``ValueError`` when the last line is not a sealed record (e.g. cut short by a
    power loss): appending to it would hide the damage, so an operator must look first.
    """
    if not path.exists() or path.stat().st_size == 0:
        return ChainHead()
    with path.open("rb") as file:
        file.seek(max(0, path.stat().st_size - _TAIL_BYTES))
        lines = [line for line in file.read().splitlines() if line.strip()]
    try:
        last = json.loads(lines[-1])
        return ChainHead(str(last["hash"]), int(last["seq"]))
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: the last line is not a complete audit record; move the file aside") from exc
