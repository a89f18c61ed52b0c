"""Read policy YAML from a file or a directory, keeping where every value came from.

Validation errors must say ``file:line:col``, so parsing keeps a map from each
value's path (``("policies", "default", "input", 0, "threshold")``) to its
position. A directory is one policy set split over files: top-level mappings
merge, lists concatenate, and a key defined in two files is an error.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from guardd.errors import Diagnostic

PathKey = tuple[str | int, ...]
Position = tuple[str, int, int]

POLICY_SUFFIXES = (".yaml", ".yml")
MAX_POLICY_FILE_BYTES = 4 * 1024 * 1024


@dataclass
class SourceDocument:
    """The merged YAML of a policy set, with positions and a content hash."""

    data: dict[str, Any] = field(default_factory=dict)
    positions: dict[PathKey, Position] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    digest: str = ""

    def locate(self, path: PathKey) -> Position:
        """Position of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            position = self.positions.get(path[:end])
            if position is not None:
                return position
        return (self.files[0] if self.files else "<policy>", 1, 1)

    def diagnostic(self, path: PathKey, message: str) -> Diagnostic:
        file, line, column = self.locate(path)
        return Diagnostic(file, line, column, message)


def policy_files(root: Path) -> list[Path]:
    """The YAML files that make up the policy at ``root``, in a stable order.

    Kubernetes mounts a ConfigMap as ``..data -> ..2024_…/`` plus one symlink
    per key; hidden entries are skipped so each file is read once, through the
    key's symlink.
    """
    if not root.is_dir():
        return [root]
    return sorted(
        p for p in root.iterdir() if not p.name.startswith(".") and p.suffix in POLICY_SUFFIXES and p.is_file()
    )


def read_source(root: Path) -> tuple[SourceDocument, list[Diagnostic]]:
    """Read and merge every policy file under ``root``; never raises for bad content."""
    doc = SourceDocument()
    problems: list[Diagnostic] = []
    hasher = hashlib.sha256()
    files = _existing_files(root, problems)
    for path in files:
        raw = _read_bytes(path, problems)
        if raw is None:
            continue
        hasher.update(os.fsencode(path.name) + b"\0" + raw + b"\0")
        doc.files.append(str(path))
        _merge_file(doc, path, raw, problems)
    doc.digest = hasher.hexdigest()
    return doc, problems


def _existing_files(root: Path, problems: list[Diagnostic]) -> list[Path]:
    if not root.exists():
        problems.append(Diagnostic(str(root), 1, 1, "policy path does not exist"))
        return []
    files = policy_files(root)
    if not files:
        problems.append(Diagnostic(str(root), 1, 1, "no *.yaml or *.yml policy files in directory"))
    return files


def _read_bytes(path: Path, problems: list[Diagnostic]) -> bytes | None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Diagnostic(str(path), 1, 1, f"cannot read policy file: {exc.strerror}"))
        return None
    if len(raw) > MAX_POLICY_FILE_BYTES:
        problems.append(Diagnostic(str(path), 1, 1, f"policy file is over {MAX_POLICY_FILE_BYTES} bytes"))
        return None
    return raw


def _merge_file(doc: SourceDocument, path: Path, raw: bytes, problems: list[Diagnostic]) -> None:
    try:
        node = yaml.compose(raw.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError as exc:
        problems.append(Diagnostic(str(path), 1, 1, f"policy file is not UTF-8: {exc.reason}"))
        return
    except yaml.reader.ReaderError as exc:
        # Not a MarkedYAMLError: a control character the YAML reader refuses (found by tests/unit/policy/test_fuzz_policy.py).
        before = raw.decode("utf-8")[: exc.position]
        line, column = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        problems.append(
            Diagnostic(str(path), line, column, f"YAML syntax error: character {exc.character:#x} is not allowed")
        )
        return
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(Diagnostic(str(path), line, column, f"YAML syntax error: {exc.problem or exc}"))
        return
    if node is None:
        return
    reader = _NodeReader(str(path), problems)
    value = reader.value(node, ())
    if not isinstance(value, dict):
        problems.append(reader.at(node, "a policy file must be a mapping at the top level"))
        return
    _merge_top(doc, value, reader.positions, problems)


def _merge_top(
    doc: SourceDocument, value: dict[str, Any], positions: dict[PathKey, Position], problems: list[Diagnostic]
) -> None:
    doc.positions.setdefault((), positions[()])
    for key, item in value.items():
        existing = doc.data.get(key)
        if isinstance(existing, dict) and isinstance(item, dict):
            for sub in item:
                if sub in existing:
                    file, line, column = positions[(key, sub)]
                    problems.append(Diagnostic(file, line, column, f"'{key}.{sub}' is already defined in another file"))
            existing.update(item)
            doc.positions.update(positions_under(positions, (key,), skip_self=True))
        elif isinstance(existing, list) and isinstance(item, list):
            offset = len(existing)
            existing.extend(item)
            doc.positions.update(_shift_list(positions, key, offset))
        elif key in doc.data and existing != item:
            file, line, column = positions[(key,)]
            problems.append(Diagnostic(file, line, column, f"'{key}' is already defined in another file"))
        else:
            doc.data[key] = item
            doc.positions.update(positions_under(positions, (key,)))


def positions_under(
    positions: dict[PathKey, Position], prefix: PathKey, *, skip_self: bool = False
) -> Iterator[tuple[PathKey, Position]]:
    """Entries of ``positions`` at or below ``prefix``."""
    size = len(prefix)
    for path, position in positions.items():
        if path[:size] == prefix and not (skip_self and len(path) == size):
            yield path, position


def _shift_list(positions: dict[PathKey, Position], key: str, offset: int) -> Iterable[tuple[PathKey, Position]]:
    for path, position in positions_under(positions, (key,), skip_self=True):
        index = path[1]
        yield ((key, index + offset if isinstance(index, int) else index, *path[2:]), position)


class _NodeReader:
    """Turns a composed YAML node tree into Python values, recording positions."""

    def __init__(self, file: str, problems: list[Diagnostic]) -> None:
        self.file = file
        self.problems = problems
        self.positions: dict[PathKey, Position] = {}
        self._constructor = yaml.SafeLoader("")

    def at(self, node: yaml.Node, message: str) -> Diagnostic:
        return Diagnostic(self.file, node.start_mark.line + 1, node.start_mark.column + 1, message)

    def value(self, node: yaml.Node, path: PathKey) -> Any:  # noqa: ANN401 - YAML is untyped until validated
        self.positions[path] = (self.file, node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self.problems.append(self.at(node, f"cannot read value: {exc.problem}"))
            return None

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                self.problems.append(self.at(key_node, f"duplicate key '{key}'"))
                continue
            result[key] = self.value(value_node, (*path, key))
            # Point errors about a key (e.g. "unknown field") at the key itself.
            self.positions[(*path, key)] = (self.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return result
