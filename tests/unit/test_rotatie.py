"""Key rotation applied (pure part): the mapping file, composing rotations, mapping events and stored text."""

from __future__ import annotations

import pytest

from registry.domein import pseudoniemen, rotatie

K1, K2, K3 = b"1" * 32, b"2" * 32, b"3" * 32
PARTNER = [pseudoniemen.stap(b"p" * 32, bsn) for bsn in ("111222333", "123456782")]
GEN1 = [pseudoniemen.canoniek((K1,), p) for p in PARTNER]


def test_the_file_rotate_writes_reads_back() -> None:
    mapping = pseudoniemen.roteer(GEN1, K2)
    tekst = rotatie.KOP + "\n" + "".join(f"{o},{n}\n" for o, n in mapping.items())
    assert rotatie.lees_csv(tekst) == mapping
    assert all(n == pseudoniemen.canoniek((K1, K2), p) for p, n in zip(PARTNER, mapping.values(), strict=False))


@pytest.mark.parametrize(
    "tekst", ["", "a,b\n", f"{rotatie.KOP}\n123456782,{GEN1[0]}\n", f"{rotatie.KOP}\n{GEN1[0]},{GEN1[0]}\n"]
)
def test_a_bad_mapping_file_is_refused_without_echoing_it(tekst: str) -> None:
    with pytest.raises(rotatie.MappingFout) as exc:
        rotatie.lees_csv(tekst)
    assert "123456782" not in str(exc.value)


def test_after_two_rotations_every_old_form_maps_to_the_newest() -> None:
    eerste = pseudoniemen.roteer(GEN1, K2)
    tweede = pseudoniemen.roteer(eerste.values(), K3)
    samen = rotatie.samenstellen(rotatie.samenstellen({}, eerste), tweede)
    nieuwst = {pseudoniemen.canoniek((K1, K2, K3), p) for p in PARTNER}
    assert set(samen) == set(GEN1) | set(eerste.values()) and set(samen.values()) == nieuwst


def test_events_get_the_newest_form_at_any_depth_and_stay_the_same_object_without_change() -> None:
    mapping = pseudoniemen.roteer(GEN1, K2)
    telling = {
        "deelnemer": None,
        "deelnemers": [{"deelnemer": GEN1[0], "status": "in_traject"}, {"deelnemer": "f" * 64, "status": "aangemeld"}],
    }
    uit = rotatie.pas_toe(telling, mapping)
    assert [d["deelnemer"] for d in uit["deelnemers"]] == [mapping[GEN1[0]], "f" * 64]
    assert telling["deelnemers"][0]["deelnemer"] == GEN1[0]  # the input is not changed
    nieuw = {"deelnemer": mapping[GEN1[1]], "traject_id": "x"}
    assert rotatie.pas_toe(nieuw, mapping) is nieuw and rotatie.pas_toe(telling, {}) is telling


def test_stored_text_only_exact_pseudonyms_change() -> None:
    mapping = pseudoniemen.roteer(GEN1, K2)
    hash_ = "a" * 64  # e.g. an API key hash: not a mapped pseudonym, left alone
    tekst = f'{{"deelnemer": "{GEN1[0]}", "lijst": ["{GEN1[1]}", "{hash_}"]}}'
    assert rotatie.vervang_in_tekst(tekst, mapping) == (
        f'{{"deelnemer": "{mapping[GEN1[0]]}", "lijst": ["{mapping[GEN1[1]]}", "{hash_}"]}}'
    )
