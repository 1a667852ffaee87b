"""Identifiers: keyed event ids, two-tier pseudonyms, markers for bad identifiers, key files, rotation."""

from __future__ import annotations

import copy
import hashlib
import hmac
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from producers.invoer import Invoer
from producers.sleutels import KeyError_, Pseudonymiser, init_keys
from registry.domein import pseudoniemen
from registry.domein.identifiers import eerste_fout
from registry.infra import sleutelbestanden
from registry.infra.sleutelbestanden import RegistryPseudoniemSleutel
from tests.support.pseudoniemen import canoniek

BSN = "111222333"  # elfproef-valid
LINE = '{"type": "DeelnemerIngeschreven", "bsn": "111222333"}'


def row(key: bytes) -> str:
    inv = Invoer("mbo.albeda", Pseudonymiser(key), lambda g: b"sealed")
    return inv.event_ids("mbo.albeda", LINE)


def test_event_id_is_keyed_same_key_same_id_other_key_other_id() -> None:
    a, b = row(b"k" * 32), row(b"k" * 32)
    assert a == b  # re-publishing the same line publishes nothing new
    assert row(b"j" * 32) != a  # not derivable without the partner's key
    assert Pseudonymiser(b"k" * 32).event_id("mbo.roc-top", LINE) != a  # partner is part of it
    # the old unkeyed derivation (uuid5 over partner + line) is gone
    import uuid

    from producers.invoer import EVENT_NS

    assert a != str(uuid.uuid5(EVENT_NS, "mbo.albeda\n" + LINE))
    assert uuid.UUID(a).version == 8 and BSN not in a


def test_no_key_object_prints_its_secret() -> None:
    key = bytes(range(32))
    assert key.hex() not in repr(Pseudonymiser(key)) and str(key) not in repr(Pseudonymiser(key))
    r = RegistryPseudoniemSleutel((key, b"x" * 32))
    assert key.hex() not in repr(r) and "hidden" in repr(r) and str(key) not in str(r)


def test_key_files_are_0600_and_wider_ones_are_refused(tmp_path: Path) -> None:
    written = init_keys(
        tmp_path / "p.key",
        tmp_path / "r.pub",
        tmp_path / "r.key",
        signing_file=tmp_path / "s.key",
        registry_pseudonym_file=tmp_path / "rp.key",
    )
    assert tmp_path / "rp.key" in written
    for name in ("p.key", "r.key", "s.key", "rp.key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    os.chmod(tmp_path / "p.key", 0o644)
    with pytest.raises(KeyError_, match="chmod 600"):
        Pseudonymiser.from_file(tmp_path / "p.key")
    os.chmod(tmp_path / "rp.key", 0o640)
    with pytest.raises(sleutelbestanden.SleutelFout, match="group or others"):
        RegistryPseudoniemSleutel.from_file(tmp_path / "rp.key")
    os.chmod(tmp_path / "rp.key", 0o600)
    assert len(RegistryPseudoniemSleutel.from_file(tmp_path / "rp.key").generaties) == 1
    # an existing file with wide permissions is narrowed when rewritten
    (tmp_path / "wide").write_text("x")
    os.chmod(tmp_path / "wide", 0o666)
    sleutelbestanden.write_secret(tmp_path / "wide", "ab")
    assert stat.S_IMODE((tmp_path / "wide").stat().st_mode) == 0o600


def test_canonical_pseudonym_is_hmac_of_the_partner_pseudonym() -> None:
    key = b"r" * 32
    p = Pseudonymiser(b"k" * 32)(BSN)
    c = pseudoniemen.canoniek((key,), p)
    assert c == hmac.new(key, p.encode(), hashlib.sha256).hexdigest() != p
    assert pseudoniemen.is_pseudoniem(c)


def test_every_deelnemer_is_rekeyed_also_in_telling_lists_and_bad_ones_become_markers() -> None:
    keys = (b"r" * 32,)
    p, q = "a" * 64, "b" * 64
    record = {
        "event_id": "not-a-uuid-" + BSN,
        "deelnemer": p,
        "traject_id": BSN,
        "crebo": "25250",
        "deelnemers": [{"deelnemer": q, "status": "gestart"}, {"deelnemer": BSN, "status": "x"}],
        "leeg": None,
    }
    out = pseudoniemen.herschrijf(record, keys)
    assert record["deelnemer"] == p  # the input is not changed
    assert out["deelnemer"] == pseudoniemen.canoniek(keys, p)
    assert out["deelnemers"][0] == {"deelnemer": pseudoniemen.canoniek(keys, q), "status": "gestart"}
    assert out["deelnemers"][1]["deelnemer"].startswith(pseudoniemen.ONGELDIG)
    assert out["crebo"] == "25250" and out["leeg"] is None
    assert BSN not in repr(out)  # the BSN is nowhere, also not in event_id / traject_id
    assert out["traject_id"].startswith("<ongeldig:") and out["event_id"].startswith("<ongeldig:")
    assert eerste_fout(out) is not None  # a marker still fails validation: refused as ongeldige_identificatie
    assert pseudoniemen.marker(keys, BSN) == pseudoniemen.marker(keys, BSN) != pseudoniemen.marker((b"s" * 32,), BSN)
    assert pseudoniemen.herschrijf({"deelnemer": None}, keys) == {"deelnemer": None}


def test_rotation_maps_old_canonical_pseudonyms_to_new(tmp_path: Path) -> None:
    path = tmp_path / "rp.key"
    sleutelbestanden.init_registry_pseudonym_key(path)
    partner_side = [Pseudonymiser(b"k" * 32)(b) for b in (BSN, "123456782")]
    oud = [RegistryPseudoniemSleutel.from_file(path).canoniek(p) for p in partner_side]
    mapping = sleutelbestanden.roteer(path, oud + ["not-a-pseudonym"])
    after = RegistryPseudoniemSleutel.from_file(path)
    assert len(after.generaties) == 2 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(mapping) == set(oud)
    for p, o in zip(partner_side, oud, strict=False):
        assert mapping[o] == after.canoniek(p) != o  # a new submission of the same deelnemer gets the mapped one


def test_cli_rotate_registry_pseudonym(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from registry.cli.main import app

    monkeypatch.setenv("PRAKTIJK_KEYS_DIR", str(tmp_path))
    monkeypatch.delenv("PRAKTIJK_REGISTRY_PSEUDONYM_KEY_FILE", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    key_file = tmp_path / "registry-pseudonym.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    oud = RegistryPseudoniemSleutel.from_file(key_file).canoniek("c" * 64)
    (tmp_path / "oud.txt").write_text(oud + "\n")
    res = runner.invoke(
        app,
        [
            "keys",
            "rotate-registry-pseudonym",
            "--pseudoniemen",
            str(tmp_path / "oud.txt"),
            "--uit",
            str(tmp_path / "map.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    new = RegistryPseudoniemSleutel.from_file(key_file).canoniek("c" * 64)
    assert (tmp_path / "map.csv").read_text() == f"oud,nieuw\n{oud},{new}\n"
    assert stat.S_IMODE((tmp_path / "map.csv").stat().st_mode) == 0o600


def test_support_helper_matches_the_validator_key() -> None:
    from tests.support.pseudoniemen import REGISTRY_KEY

    assert canoniek("a" * 64) == pseudoniemen.canoniek(REGISTRY_KEY, "a" * 64)


def test_a_remembered_pseudonym_never_outlives_a_key_rotation() -> None:
    """herschrijf remembers canonical pseudonyms per key generations: after a rotation the same partner pseudonym
    gets the chained (new) value, never the remembered old one."""
    from registry.domein import pseudoniemen as ps

    p = "ab" * 32
    k1, k2 = b"1" * 32, b"2" * 32
    eerst = ps.herschrijf({"deelnemer": p}, [k1])["deelnemer"]
    assert eerst == ps.canoniek([k1], p) == ps.herschrijf({"deelnemer": p}, (k1,))["deelnemer"]
    na = ps.herschrijf({"deelnemer": p}, [k1, k2])["deelnemer"]
    assert na == ps.canoniek([k1, k2], p) == ps.stap(k2, eerst) and na != eerst


_IDENTIFIER_VELDEN = [
    "deelnemer",
    "event_id",
    "traject_id",
    "crebo",
    "werkproces",
    "partner",
    "gemeente",
    "pilot",
    "mbo_instelling",
    "leerbedrijf_id",
    "naam",
]
_WAARDEN = [
    None,
    7,
    "25250",
    "2525",
    "B1-K1-W1",
    "x",
    "mbo.albeda",
    "mbo.onbekend",
    "rijnmond",
    "123456789",
    "a" * 64,
    "A" * 64,
    "3f1c2a9e-0000-4000-8000-000000000000",
    "<ongeldig:abc>",
    "",
]


@st.composite
def _records(draw: st.DrawFn, diepte: int = 2) -> dict[str, object]:
    velden = draw(st.lists(st.sampled_from(_IDENTIFIER_VELDEN), unique=True, max_size=6))
    record: dict[str, object] = {v: draw(st.sampled_from(_WAARDEN)) for v in velden}
    if diepte:
        for naam in draw(st.lists(st.sampled_from(["werkprocessen", "deelnemers", "kerntaak"]), unique=True)):
            record[naam] = (
                draw(_records(diepte - 1)) if naam == "kerntaak" else draw(st.lists(_records(diepte - 1), max_size=3))
            )
    return record


@given(_records())
@settings(max_examples=300, deadline=None)
def test_a_rewritten_record_carries_the_first_bad_identifier_a_walk_of_it_finds(record: dict[str, object]) -> None:
    """Each identifier is checked once (as it is re-keyed): what the rewrite remembers equals checking again."""
    herschreven = pseudoniemen.herschrijf(record, [b"k" * 32])
    assert herschreven.fout == eerste_fout(dict(herschreven))
    assert eerste_fout(herschreven) is herschreven.fout


def _spec(value: object, rekey: Callable[[Any], str], mark: Callable[[str], str], path: str) -> tuple[Any, Any]:
    """The rewrite as first written (one recursive walk that copies everything it passes): the spec the in-place
    rewrite of the copy must keep to."""
    from registry.domein.identifiers import FIELD_CHECKS, REFERENTIEVELDEN, Fout, referentie_fout

    if isinstance(value, dict):
        out = dict(value)
        eerste = None
        for k, v in value.items():
            fout = None
            if k not in pseudoniemen._LET_OP:
                if not isinstance(v, (dict, list)):
                    continue
                out[k], fout = _spec(v, rekey, mark, f"{path}{k}.")
            elif k == pseudoniemen.VELD and v is not None:
                out[k] = nieuw = rekey(v)
                if nieuw.startswith(pseudoniemen.ONGELDIG):
                    fout = Fout(f"{path}{k}", k, "formaat", FIELD_CHECKS[k](nieuw) or "", nieuw)
            elif isinstance(v, str):
                check = FIELD_CHECKS.get(k)
                if check is not None and check(v) is not None:
                    out[k] = nieuw = mark(v)
                    fout = Fout(f"{path}{k}", k, "formaat", check(nieuw) or "", nieuw)
            elif isinstance(v, (dict, list)):
                out[k], fout = _spec(v, rekey, mark, f"{path}{k}.")
            if eerste is None:
                if k in REFERENTIEVELDEN and (fout is None or fout.path != f"{path}{k}"):
                    fout = referentie_fout(k, out[k], path) or fout
                eerste = fout
        return out, eerste
    if isinstance(value, list):
        items = [_spec(v, rekey, mark, f"{path.rstrip('.')}[{i}].") for i, v in enumerate(value)]
        return [v for v, _ in items], next((f for _, f in items if f is not None), None)
    return value, None


@given(_records())
@settings(max_examples=300, deadline=None)
def test_the_rewrite_gives_what_one_copying_walk_gives_and_leaves_the_record_alone(record: dict[str, object]) -> None:
    sleutels = [b"k" * 32]
    voor = copy.deepcopy(record)
    herschreven = pseudoniemen.herschrijf(record, sleutels)
    verwacht, fout = _spec(
        record,
        lambda v: (
            pseudoniemen.canoniek(sleutels, v)
            if pseudoniemen.is_pseudoniem(v)
            else pseudoniemen.marker(sleutels, str(v))
        ),
        lambda v: pseudoniemen.marker(sleutels, v),
        "",
    )
    assert dict(herschreven) == verwacht and herschreven.fout == fout
    assert record == voor  # the record itself is not changed
