"""The backup folder's manifest (registry/infra/backup.py): read back as written; a tampered or missing file, a
missing manifest and names that would reach SQL or a path are refused before anything is restored."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from registry.infra import backup as b

KOLOMMEN = (("key_id", "text"), ("key_hash", "character(64)"))


def _map(folder: Path, inhoud: str = "key_id,key_hash\nabc,def\n") -> b.Manifest:
    """A one-table backup folder as ``backup`` writes it."""
    folder.mkdir()
    entry = b.Bestand("api_keys", "public.api_keys", "public.api_keys.csv", 1, "", KOLOMMEN)
    (folder / entry.bestand).write_text(inhoud)
    entry = replace(entry, sha256=b.sha256_van(folder / entry.bestand))
    m = b.Manifest(
        b.FORMAT,
        "2026-01-01T00:00:00+00:00",
        "db",
        "15.18",
        "praktijk",
        (entry,),
        {"praktijk.dossiers": b.Telling(3, "ab" * 32)},
    )
    (folder / b.MANIFEST).write_text(b.manifest_json(m))
    return m


def test_a_manifest_reads_back_as_written_and_the_folder_checks(tmp_path: Path) -> None:
    m = _map(tmp_path / "b")
    assert b.lees_manifest(b.manifest_json(m)) == m
    assert b.controleer(tmp_path / "b") == m


def test_a_changed_file_is_refused(tmp_path: Path) -> None:
    _map(tmp_path / "b")
    (tmp_path / "b" / "public.api_keys.csv").write_text("key_id,key_hash\nabc,xyz\n")
    with pytest.raises(b.BackupFout, match="public.api_keys.csv does not match its SHA-256"):
        b.controleer(tmp_path / "b")


def test_a_missing_file_or_manifest_is_refused(tmp_path: Path) -> None:
    _map(tmp_path / "b")
    (tmp_path / "b" / "public.api_keys.csv").unlink()
    with pytest.raises(b.BackupFout, match="public.api_keys.csv is missing"):
        b.controleer(tmp_path / "b")
    (tmp_path / "b" / b.MANIFEST).unlink()
    with pytest.raises(b.BackupFout, match="manifest.json is missing: .* is no \\(finished\\) backup"):
        b.controleer(tmp_path / "b")


@pytest.mark.parametrize(
    ("veld", "waarde"),
    [
        ("table", 'public.x"; DROP TABLE y; --'),
        ("file", "../../etc/passwd"),
        ("kind", "iets"),
        ("columns", [["key id", "text"]]),
        ("rows", "veel"),
    ],
)
def test_names_that_would_reach_sql_or_a_path_are_refused(tmp_path: Path, veld: str, waarde: object) -> None:
    m = _map(tmp_path / "b")
    j = json.loads(b.manifest_json(m))
    j["tables"][0][veld] = waarde
    with pytest.raises(b.BackupFout, match="not a valid manifest"):
        b.lees_manifest(json.dumps(j))


def test_another_format_is_refused(tmp_path: Path) -> None:
    j = json.loads(b.manifest_json(_map(tmp_path / "b")))
    j["format"] = 2
    with pytest.raises(b.BackupFout, match="manifest format 2: this version restores format 1"):
        b.lees_manifest(json.dumps(j))
    with pytest.raises(b.BackupFout, match="not a valid manifest"):
        b.lees_manifest("{")


def test_verschillen_names_tables_that_differ_or_are_missing_on_one_side() -> None:
    een, twee = b.Telling(1, "a"), b.Telling(1, "b")
    assert b.verschillen({"s.x": een, "s.y": een}, {"s.x": een, "s.y": een}) == []
    assert b.verschillen({"s.x": een, "s.y": een}, {"s.x": twee, "s.z": een}) == ["s.x", "s.y", "s.z"]


def test_checksum_rows_say_equal_differs_or_absent_per_table() -> None:
    from registry.cli.backup import Checksumregel, regels

    een, twee = b.Telling(1, "a"), b.Telling(2, "b")
    assert regels({"s.x": een}, None) == [Checksumregel("s.x", 1, "a", None)]
    assert regels({"s.x": een, "s.y": een}, {"s.x": een, "s.y": twee, "s.z": een}) == [
        Checksumregel("s.x", 1, "a", "equal"),
        Checksumregel("s.y", 1, "a", "DIFFERS"),
        Checksumregel("s.z", None, None, "DIFFERS"),
    ]


def test_the_read_models_checked_are_the_catalogue_and_the_offsets_without_their_write_time() -> None:
    from projections import catalogus
    from registry.cli.backup import leesmodel_tabellen

    tabellen = leesmodel_tabellen("rm")
    assert {t for p in catalogus.ALL.values() for t in p.tables} <= {t.split(".")[1] for t in tabellen}
    assert all(t.startswith("rm.") for t in tabellen)
    offsets = tabellen["rm.projection_offsets"]
    assert offsets is not None and "updated_at" not in offsets and "next_offset" in offsets
    with pytest.raises(ValueError, match="schema name"):
        leesmodel_tabellen('rm"; --')
