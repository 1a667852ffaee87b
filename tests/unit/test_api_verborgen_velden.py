"""What an instelling never sees in a deelnemer's history: the special-category fields of the doorstroom
(``uitvalreden``, ``uitkering``, ``nieuwkomer``) as ``doelgroep``, also in its own submissions; landelijk sees them."""

from __future__ import annotations

from registry.diensten.inzage import own_part

T = "a1000000-0000-4000-8000-000000000001"
HISTORY = [
    {
        "event_type": "KandidaatAangemeld",
        "partner": "mbo.albeda",  # an instelling that referred the deelnemer itself
        "traject_id": None,
        "gegevens": {"doelgroep": "i", "uitkering": "wajong", "nieuwkomer": True, "pilot": "rijnmond"},
        "afgewezen": False,
    },
    {
        "event_type": "TrajectBeeindigd",
        "partner": "mbo.albeda",
        "traject_id": T,
        "gegevens": {"reden": "voortijdig_gestopt", "uitvalreden": "detentie_einde"},
        "afgewezen": False,
    },
]


def test_an_instelling_never_sees_the_doorstroom_special_categories() -> None:
    seen = own_part(HISTORY, "mbo.albeda")
    assert [e["event_type"] for e in seen] == ["KandidaatAangemeld", "TrajectBeeindigd"]
    assert seen[0]["gegevens"] == {"pilot": "rijnmond"}
    assert seen[1]["gegevens"] == {"reden": "voortijdig_gestopt"}
    assert HISTORY[1]["gegevens"]["uitvalreden"] == "detentie_einde"  # the history itself is left as it was
