"""Backward-compatibility check of the schema catalogue, with Apache Avro's own checker."""

from __future__ import annotations

from pathlib import Path

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from registry.infra.codec import _FILE


def _versions(directory: Path) -> dict[str, dict[int, Path]]:
    out: dict[str, dict[int, Path]] = {}
    for path in sorted(directory.glob("*.avsc")):
        m = _FILE.match(path.name)
        if not m:
            raise ValueError(f"{path}: schema files are named <EventType>.v<N>.avsc")
        out.setdefault(m["type"], {})[int(m["version"])] = path
    return out


def check_directory(directory: Path) -> tuple[list[str], int]:
    """Every version must read data written with every earlier version of its type.

    Returns (problems, number of event types checked)."""
    problems: list[str] = []
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]  # avro ships no annotations
    versions = _versions(directory)
    for event_type, by_version in sorted(versions.items()):
        parsed = {v: avro.schema.parse(p.read_text(encoding="utf-8")) for v, p in by_version.items()}
        for newer in sorted(parsed):
            for older in (v for v in sorted(parsed) if v < newer):
                result = checker.get_compatibility(reader=parsed[newer], writer=parsed[older])
                if result.compatibility is not SchemaCompatibilityType.compatible:
                    why = "; ".join(sorted(set(result.messages))) or "incompatible"
                    problems.append(
                        f"{event_type} v{newer} cannot read v{older}: {why} (at {', '.join(sorted(set(result.locations)))})"
                    )
    return problems, len(versions)
