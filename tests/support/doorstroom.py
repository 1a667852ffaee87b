"""Worlds for the doorstroom tests: the hand-built one with exact numbers (tests/unit/test_doorstroom.py) and random
logs for the property test that the read model's answer equals the domain's computation over the same events."""

from __future__ import annotations

import datetime as dt
import random

from tests.support.builders import Bouwer, Event

D = dt.date(2021, 1, 13)
A, B, C, E, F, G, H, J = (c * 64 for c in "abcdef01")
MBO = "mbo.albeda"


def hand_world() -> list[Event]:
    b = Bouwer("doorstroom")
    return [
        # A: cohort 2019-Q1; advies; one traject; a verklaring revoked and reissued; ended; uitstroom twice at 6 months
        b.aanmelding(A, "rijnmond", dt.date(2019, 2, 1), uitkering="participatiewet"),
        b.advies(A, MBO, dt.date(2019, 2, 10)),
        b.inschrijving(A, "ta", "rijnmond", MBO, "25251", dt.date(2019, 3, 1)),
        b.verklaring(A, "ta", "va1", [("25251", "W1")], dt.date(2019, 9, 1), volgnummer=1),
        b.verklaring_ingetrokken(A, "va1", dt.date(2019, 10, 1)),
        b.verklaring(A, "ta", "va2", [("25251", "W1")], dt.date(2019, 11, 1), volgnummer=1),
        b.beeindigd(A, "ta", "afgerond", dt.date(2020, 1, 15)),
        b.uitstroom(A, "betaald_werk", dt.date(2020, 2, 1), "einde", "vast", "geen"),
        b.uitstroom(A, "geen", dt.date(2020, 7, 1), "zes_maanden", None, "volledig"),
        b.uitstroom(A, "betaald_werk", dt.date(2020, 7, 20), "zes_maanden", "tijdelijk", "deels"),
        # B: first aanmelding in 2018, a second one in 2019: cohort 2018
        b.aanmelding(B, "rijnmond", dt.date(2018, 12, 20)),
        b.aanmelding(B, "rijnmond", dt.date(2019, 3, 1), doelgroep="b"),
        b.advies(B, MBO, dt.date(2019, 3, 5)),
        # C: cohort 2019-Q2, uwv, doelgroep b; two trajecten, both ended: the last one's reden counts
        b.aanmelding(C, "rijnmond", dt.date(2019, 5, 1), aanmelder="uwv", doelgroep="b", uitkering="ww"),
        b.inschrijving(C, "tc1", "rijnmond", MBO, "25251", dt.date(2019, 6, 1)),
        b.beeindigd(C, "tc1", "voortijdig_gestopt", dt.date(2019, 8, 1), uitvalreden="gezondheid"),
        b.inschrijving(C, "tc2", "rijnmond", MBO, "25251", dt.date(2019, 10, 1)),
        b.beeindigd(C, "tc2", "overstap_bbl", dt.date(2020, 3, 1)),
        b.uitstroom(C, "vervolgopleiding", dt.date(2020, 3, 2)),
        # E: cohort 2019-Q4, pilot doorzaam; enrolled, but the traject starts after the peildatum
        b.aanmelding(E, "doorzaam", dt.date(2019, 11, 15)),
        b.advies(E, MBO, dt.date(2019, 12, 1)),
        b.inschrijving(E, "te", "doorzaam", MBO, "25251", dt.date(2021, 2, 1), on=dt.date(2020, 12, 1)),
        # F: cohort 2019-Q3; stopped early, then a second traject still running
        b.aanmelding(F, "rijnmond", dt.date(2019, 7, 1)),
        b.inschrijving(F, "tf1", "rijnmond", MBO, "25251", dt.date(2019, 8, 11)),
        b.beeindigd(F, "tf1", "voortijdig_gestopt", dt.date(2020, 5, 1), uitvalreden="motivatie"),
        b.inschrijving(F, "tf2", "rijnmond", MBO, "25251", dt.date(2020, 9, 1)),
        b.uitstroom(F, "betaald_werk", dt.date(2021, 2, 1), "twaalf_maanden", "vast", "geen"),  # after D
        # G: aangemeld after the peildatum
        b.aanmelding(G, "rijnmond", dt.date(2021, 2, 1)),
        # H: cohort 2019-Q3; started; its verklaring comes after the peildatum
        b.aanmelding(H, "rijnmond", dt.date(2019, 8, 1)),
        b.inschrijving(H, "th", "rijnmond", MBO, "25251", dt.date(2019, 10, 1)),
        b.verklaring(H, "th", "vh", [("25251", "W1")], dt.date(2021, 1, 20), volgnummer=1),
        # J: cohort 2019-Q2 with doelgroep c; a later aanmelding says d (the first one's attributes count)
        b.aanmelding(J, "rijnmond", dt.date(2019, 4, 1), doelgroep="c"),
        b.aanmelding(J, "rijnmond", dt.date(2019, 6, 1), doelgroep="d"),
    ]


PILOTS = ("rijnmond", "doorzaam", "drenthe")
DOELGROEPEN = ("a", "b", "c")
UITKERINGEN = ("participatiewet", "ww", "onbekend")
AANMELDERS = ("gemeente", "uwv")
REDENEN = ("afgerond", "voortijdig_gestopt", "overstap_bbl", "overstap_certificaat")
UITVAL = ("gezondheid", "motivatie", "werk_gevonden")
UITSTROOM = ("betaald_werk", "geen", "vervolgopleiding")
PEILMOMENTEN = ("einde", "zes_maanden", "twaalf_maanden")
CONTRACTEN = (None, "vast", "tijdelijk")
UITKERING_NA = ("geen", "deels", "onbekend")
BEGIN = dt.date(2018, 10, 1)


def random_world(seed: int, deelnemers: int = 12) -> list[Event]:
    """A plausible log: aanmeldingen (some twice), adviezen, one or two trajecten with verklaringen (some revoked,
    some reissued), endings with and without uitvalreden, uitstroom (some registered twice for one peilmoment);
    dates over 2018-2021, several events on one day."""
    rnd = random.Random(seed)
    b = Bouwer(f"random-{seed}")
    log: list[Event] = []

    def dag(na: dt.date, max_dagen: int = 400) -> dt.date:
        return na + dt.timedelta(days=rnd.randint(0, max_dagen))

    for n in range(deelnemers):
        d = f"{n:064x}"
        eerst = dag(BEGIN, 800)
        for k in range(rnd.choice((1, 1, 2))):
            log.append(
                b.aanmelding(
                    d,
                    rnd.choice(PILOTS),
                    eerst if k == 0 else dag(eerst, 100),
                    aanmelder=rnd.choice(AANMELDERS),
                    doelgroep=rnd.choice(DOELGROEPEN),
                    uitkering=rnd.choice(UITKERINGEN),
                )
            )
        if rnd.random() < 0.6:
            log.append(b.advies(d, MBO, dag(eerst, 60)))
        start = eerst
        for t in range(rnd.choice((0, 1, 1, 2))):
            tid = f"t-{seed}-{n}-{t}"
            start = dag(start, 200)
            log.append(b.inschrijving(d, tid, rnd.choice(PILOTS), MBO, "25251", start, on=start))
            for v in range(rnd.choice((0, 1, 2))):
                vid = f"v-{seed}-{n}-{t}-{v}"
                uitgifte = dag(start, 300)
                log.append(b.verklaring(d, tid, vid, [("25251", f"W{v}")], uitgifte, volgnummer=v + 1))
                if rnd.random() < 0.3:
                    log.append(b.verklaring_ingetrokken(d, vid, dag(uitgifte, 60)))
            if rnd.random() < 0.7:
                reden = rnd.choice(REDENEN)
                uitval = rnd.choice(UITVAL) if reden == "voortijdig_gestopt" else None
                einde = dag(start, 400)
                log.append(b.beeindigd(d, tid, reden, einde, uitvalreden=uitval))
                for _ in range(rnd.choice((0, 1, 2, 3))):
                    log.append(
                        b.uitstroom(
                            d,
                            rnd.choice(UITSTROOM),
                            dag(einde, 400),
                            rnd.choice(PEILMOMENTEN),
                            rnd.choice(CONTRACTEN),
                            rnd.choice(UITKERING_NA),
                        )
                    )
    return log
