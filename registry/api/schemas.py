"""Response models of the query API (they document the JSON in the OpenAPI schema and shape the answers).

Read-model rows are open models: the documented members, plus any member the read models add later.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class OverzichtInfo(BaseModel):
    naam: str = Field(description="Name to use in /v1/overzichten/{naam}.")
    beschrijving: str = Field(description="One-line description.")


class OverzichtenLijst(BaseModel):
    overzichten: list[OverzichtInfo]


class Onthullingsbeheersing(BaseModel):
    """The disclosure control of a publiek or regio answer (absent from landelijk and instelling answers: exact)."""

    methode: str = Field(description="`celsleutel`: the cell key method (see x-disclosure-control).")
    ptable_versie: str = Field(description="The version of the p-table the counts were perturbed with.")


_ONTHULLING = (
    "Only in publiek and regio answers: their counts are perturbed (afgerond/verstoord), see x-disclosure-control."
)


class OverzichtResponse(BaseModel):
    naam: str
    peildatum: date
    rijen: list[dict[str, Any]] = Field(description="One object per row; the CSV format has the same columns.")
    onthullingsbeheersing: Onthullingsbeheersing | None = Field(default=None, description=_ONTHULLING)


class _Open(BaseModel):
    """Read-model rows: the documented members, plus any the read models add later."""

    model_config = ConfigDict(extra="allow")


class MaandAantallen(_Open):
    maand: str = Field(description="YYYY-MM")
    aangemeld: int = Field(0, description="KandidaatAangemeld that month.")
    ingeschreven: int = Field(0, description="Inschrijvingen with startdatum that month.")
    actief: int = Field(0, description="Trajecten started and not beeindigd on the month's last day.")
    verklaringen: int = Field(0, description="Verklaringen issued that month and not revoked by its last day.")
    beeindigd: dict[str, int] = Field(default_factory=dict, description="Trajecten beeindigd that month, by reden.")
    uitstroom: dict[str, int] = Field(default_factory=dict, description="Uitstroom registered that month, by type.")


class AantallenResponse(BaseModel):
    van: date
    tot: date
    regio: str | None = None
    pilot: str | None = None
    gemeente: str | None = None
    instelling: str | None = None
    maanden: list[MaandAantallen]
    onthullingsbeheersing: Onthullingsbeheersing | None = Field(default=None, description=_ONTHULLING)


class TijdlijnEntry(_Open):
    event_id: str | None = None
    event_type: str
    occurred_at: datetime | None = Field(None, description="Business time (null for a rejected submission).")
    recorded_at: datetime | None = Field(None, description="Registry time (validator).")
    partner: str | None = None
    traject_id: str | None = None
    verklaring_id: str | None = None
    warnings: list[str] = Field(default_factory=list)
    gegevens: dict[str, Any] = Field(default_factory=dict, description="The event's fields (no persoonsgegevens).")
    afgewezen: bool = Field(False, description="True for a submission the validator refused.")
    reden: str | None = Field(None, description="Reason code of a refused submission.")
    melding: str | None = Field(None, description="Message of a refused submission.")


class AfgetekendWerkproces(_Open):
    crebo: str
    werkproces: str
    naam: str | None = None
    afgetekend_op: date | None = None


class TrajectVerklaring(_Open):
    verklaring_id: str
    volgnummer: int | None = None
    uitgegeven_op: date | None = None
    status: str | None = Field(None, description="geldig | ingetrokken")
    ingetrokken_op: date | None = None
    reden_intrekking: str | None = None


class TrajectResponse(_Open):
    traject_id: str
    deelnemer: str | None = Field(None, description="Pseudonym of the deelnemer.")
    mbo_instelling: str | None = Field(None, description="mbo partner id")
    mbo_instelling_naam: str | None = None
    crebo: str | None = None
    pilot: str | None = None
    startdatum: date | None = None
    leerbedrijf_id: str | None = None
    status: str | None = Field(None, description="open | beeindigd")
    reden: str | None = None
    beeindigd_op: date | None = None
    afgetekende_werkprocessen: list[AfgetekendWerkproces] = Field(default_factory=list)
    verklaringen: list[TrajectVerklaring] = Field(default_factory=list)
    events: list[TijdlijnEntry] = Field(default_factory=list, description="Full history, refused submissions marked.")


class KwalificatieRef(_Open):
    crebo: str
    naam: str | None = None
    niveau: int | None = None


class WerkprocesRef(_Open):
    crebo: str | None = None
    werkproces: str | None = None
    naam: str | None = None


class LeerbedrijfRef(_Open):
    leerbedrijf_id: str | None = None
    naam: str | None = None


class VerificatieResponse(_Open):
    verklaring_id: str
    status: str | None = Field(None, description="geldig | ingetrokken")
    ingetrokken_op: date | None = None
    reden_intrekking: str | None = None
    mbo_instelling: str | None = Field(None, description="Name of the issuing mbo-instelling.")
    kwalificatie: str | None = Field(None, description="crebo, or sorted crebos joined by ','.")
    kwalificaties: list[KwalificatieRef] = Field(default_factory=list)
    werkprocessen: list[WerkprocesRef] = Field(default_factory=list)
    leerbedrijf: LeerbedrijfRef | None = None
    uitgegeven_op: date | None = None
    ondertekend_op: date | None = Field(
        None,
        description="Date the praktijkopleider signed the verklaring (null for one issued before it was recorded).",
    )
    brancheorganisaties: list[str] = Field(default_factory=list)


class PartitionStatus(BaseModel):
    topic: str
    partition: int
    end_offset: int
    committed_offset: int | None = Field(
        description="Committed (validator) or stored (projection) offset; null = none yet."
    )
    lag: int = Field(description="end_offset - committed_offset (counts transaction markers too).")
    pending: bool = Field(description="A committed record after committed_offset is still to be consumed.")
    last_recorded_at: datetime | None = None


class ConsumerStatus(BaseModel):
    naam: str
    soort: Literal["validator", "projectie"]
    group: str | None = None
    lag: int
    caught_up: bool
    last_recorded_at: datetime | None = Field(None, description="recorded_at of the last applied event (projections).")
    partitions: list[PartitionStatus]


class ParkedCount(BaseModel):
    partner: str = Field(description="The ingress partner that submitted the parked events.")
    reden: str = Field(
        description="The reason code they would be refused with now (and are, after PRAKTIJK_PARK_TIMEOUT)."
    )
    aantal: int


class StatusResponse(BaseModel):
    caught_up: bool = Field(
        description="True when the validator and every projection have consumed everything published."
    )
    consumers: list[ConsumerStatus]
    parked_total: int = Field(
        0, description="Submissions the validator has parked: they wait for an event they depend on."
    )
    parked: list[ParkedCount] = Field(
        default_factory=list, description="Parked submissions per partner and reason code."
    )


class Categorieen(BaseModel):
    """Per category the number of list entries / registered persons (registry/domein/reconciliatie.CATEGORIEEN,
    in precedence order; every category present, zeros included)."""

    overeenkomend: int = Field(description="Registered in this pilot at D and listed (first entry).")
    dubbel_in_bron: int = Field(description="Second and later entries of one person in the list.")
    boris_vermoeden: int = Field(description="Registered, not listed, under 18 at inschrijving.")
    alleen_in_register: int = Field(description="Registered, not listed, 18 or older at inschrijving.")
    andere_pilot: int = Field(description="Listed, registered under another pilot at D.")
    buiten_peildatum: int = Field(description="Listed, inschrijving for this pilot starts after D.")
    aangemeld_niet_gestart: int = Field(description="Listed, aanmelding or advies but no inschrijving.")
    niet_geregistreerd: int = Field(description="Listed, unknown to the registry.")
    onverklaard: int = Field(description="A source without a list: its whole difference with the register.")
    zonder_relatie: int | None = Field(
        default=None,
        description="Only for an instelling key: list entries about "
        "persons it did not enrol, not broken down (taken out of the categories above).",
    )


class ReconciliatieBron(BaseModel):
    partner: str = Field(description="The partner that sent the telling, e.g. gemeente.gm0014.")
    bron_type: str = Field(description="gemeente | uwv | mbo | monitor")
    telling_peildatum: date = Field(description="The peildatum of the chosen telling (within the window around D).")
    gemeld: int = Field(description="Entries in the list (duplicates included), else the reported total.")
    verschil: int = Field(description="gemeld - register")
    categorieen: Categorieen
    vergelijking: str = Field(
        description="The equation with the numbers filled in, e.g. `40 - 37 = (1 + 0 + 2 + 3 + 1 + 0) - (2 + 0)`."
    )


class ReconciliatieRij(BaseModel):
    pilot: str
    # "register" as an alias: the name would shadow ABCMeta.register of the model class
    aantal_register: int = Field(
        alias="register", description="Deelnemers of the pilot at D (deelnemers-per-pilot rule)."
    )
    gereconcilieerd: int = Field(description="register + distinct unknown persons an mbo source lists as in_traject.")
    bronnen: list[ReconciliatieBron] = Field(description="One per partner with a telling near D, sorted by partner.")


class ReconciliatieResponse(BaseModel):
    peildatum: date
    rijen: list[ReconciliatieRij]
    onthullingsbeheersing: Onthullingsbeheersing | None = Field(default=None, description=_ONTHULLING)


class PersonenPerCategorie(BaseModel):
    """Per category the sorted pseudonyms (dubbel_in_bron once per extra entry; onverklaard always empty)."""

    overeenkomend: list[str]
    dubbel_in_bron: list[str]
    boris_vermoeden: list[str]
    alleen_in_register: list[str]
    andere_pilot: list[str]
    buiten_peildatum: list[str]
    aangemeld_niet_gestart: list[str]
    niet_geregistreerd: list[str]
    onverklaard: list[str]


class ReconciliatiePersonenResponse(BaseModel):
    peildatum: date
    pilot: str
    partner: str
    bron_type: str
    telling_peildatum: date
    personen: PersonenPerCategorie


class AuditRecord(BaseModel):
    """One person-level read (GET /v1/audit)."""

    key_id: str
    scope: str
    at: datetime | None = None
    endpoint: str = Field(description="Route template, e.g. /v1/deelnemers/{pseudonym}/tijdlijn")
    pseudonym: str | None = Field(None, description="The deelnemer the read is about (null: unknown object).")
    object_id: str = Field(description="The traject_id, pseudonym or verklaring_id asked for.")
    status: int = Field(description="The HTTP status of the answer (200, 403, 404, 410).")


# --- GET /v1/doorstroom ------------------------------------------------------------------------------------------
class DoorstroomStap(BaseModel):
    stap: Literal["aangemeld", "advies", "gestart", "verklaring", "beeindigd"]
    deelnemers: int


class DoorstroomConversie(BaseModel):
    """Deelnemers of the step / aangemeld, rounded half up to 3 decimals; null when none is aangemeld."""

    advies: float | None
    gestart: float | None
    verklaring: float | None
    beeindigd: float | None


class DoorstroomSpreiding(BaseModel):
    """Whole days over the deelnemers with both dates; nearest-rank percentiles (null when n = 0)."""

    n: int
    p25: int | None
    mediaan: int | None
    p75: int | None


class DoorstroomDoorlooptijd(BaseModel):
    aanmelding_tot_start: DoorstroomSpreiding = Field(description="First aanmelding -> earliest startdatum.")
    start_tot_verklaring: DoorstroomSpreiding = Field(
        description="Earliest startdatum -> issue date of the first verklaring still valid at the peildatum."
    )


class DoorstroomBeeindiging(BaseModel):
    reden: str = Field(description="Reden of the deelnemer's last ended traject.")
    uitvalreden: str | None = Field(description="Its uitvalreden; null except for voortijdig_gestopt.")
    deelnemers: int


class DoorstroomUitstroom(BaseModel):
    peilmoment: Literal["einde", "zes_maanden", "twaalf_maanden"]
    uitstroom: str
    deelnemers: int


class DoorstroomContract(BaseModel):
    peilmoment: Literal["einde", "zes_maanden", "twaalf_maanden"]
    contract: str | None = Field(description="Among betaald_werk; null when not reported.")
    deelnemers: int


class DoorstroomUitkeringNa(BaseModel):
    peilmoment: Literal["einde", "zes_maanden", "twaalf_maanden"]
    uitkering_na: str = Field(description="Among betaald_werk.")
    deelnemers: int


class DoorstroomResponse(BaseModel):
    cohort: str = Field(description="YYYY or YYYY-Qn: year or quarter of the deelnemer's first aanmelding.")
    peildatum: date
    pilot: str | None = None
    regio: str | None = None
    doelgroep: str | None = None
    uitkering: str | None = None
    aanmelder_type: str | None = None
    stappen: list[DoorstroomStap]
    conversie: DoorstroomConversie
    doorlooptijd_dagen: DoorstroomDoorlooptijd
    beeindiging: list[DoorstroomBeeindiging]
    uitstroom: list[DoorstroomUitstroom] = Field(
        description="Per peilmoment and destination: the latest registration per deelnemer and peilmoment."
    )
    contract: list[DoorstroomContract]
    uitkering_na: list[DoorstroomUitkeringNa]
    onthullingsbeheersing: Onthullingsbeheersing | None = Field(default=None, description=_ONTHULLING)
