"""What the document, credential and verification-page routes share: the key material and the canonical log
(``Bronnen``, a dependency tests replace), the scope check of a verklaring, the public base URL and the
document content.

Persoonsgegevens: the read models hold only the log positions of the events that carry the encrypted
naam/geboortedatum; ``LogBronnen`` reads those events from the canonical log and decrypts them with the deelnemer's
data key from the vault (registry/infra/gegevenskluis.py: SELECT on the key table, the master key file), in memory,
for one response. After a DeelnemerGegevensVerwijderd the routes answer 410 Gone before anything is read (and the
data key is gone, so nothing could be read).
"""
# no "from __future__ import annotations": FastAPI resolves the Annotated dependency types at runtime

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import Depends

from registry.api import problems
from registry.api.auth import ApiKey
from registry.api.deps import Context
from registry.api.problems import ProblemError
from registry.api.scopes import forbid, same_instelling
from registry.domein.verklaring_document import (
    Persoon,
    VerklaringDocument,
    bouw_document,
    encode_bitstring,
    open_badge_credential,
    persoon_uit,
    status_list_credential,
)
from registry.infra import pseudoniem_rotatie
from registry.infra.canonieke_log import LogFout, lees_events
from registry.infra.gegevenskluis import Gegevenskluis, KluisFout
from registry.infra.ondertekening import Ondertekenaar, SleutelFout

log = logging.getLogger("praktijkregister.api")

problems.PROBLEM_TYPES.setdefault(
    "gone",
    ("Gone", "The deelnemer's persoonsgegevens were erased (AVG art. 17): the document can no longer be produced."),
)
problems.PROBLEM_TYPES.setdefault(
    "key-unavailable",
    ("Key unavailable", "A key file of the registry is missing or unreadable (run `praktijkregister keys init`)."),
)
problems.PROBLEM_TYPES.setdefault(
    "log-unavailable", ("Canonical log unavailable", "The Kafka broker holding the canonical log did not answer.")
)
problems.PROBLEM_TYPES.setdefault(
    "too-many-requests",
    ("Too many requests", "The rate limit of this public page was exceeded; retry after `Retry-After` seconds."),
)


class Bronnen(Protocol):
    """Key material and the canonical log, as the routes need them."""

    def ondertekenaar(self) -> Ondertekenaar:
        """The registry's signing key (SleutelFout when missing)."""
        ...

    def persoonsgegevens(self, posities: list[tuple[int, int]]) -> dict[str, Any] | None:
        """The first opened persoonsgegevens with a naam among the events at ``posities`` (in that order), or None."""
        ...


class LogBronnen:
    """The key files of the settings and the canonical log of the app."""

    def __init__(self, context: Any) -> None:
        self.context = context

    def ondertekenaar(self) -> Ondertekenaar:
        return Ondertekenaar.from_file(self.context.settings.signing_key_file)

    def persoonsgegevens(self, posities: list[tuple[int, int]]) -> dict[str, Any] | None:
        if not posities:
            return None
        if getattr(self.context, "engine", None) is None:
            return None  # no database, so no data keys
        events = lees_events(self.context.settings.kafka_servers, self.context.events_topic, posities)
        try:
            kluis = Gegevenskluis.from_file(
                self.context.engine, self.context.settings.master_key_file, self.context.settings.vault_schema
            )
        except KluisFout as exc:
            raise SleutelFout(str(exc)) from None
        for pos in posities:
            found = events.get(pos)
            blob = found[1].get("persoonsgegevens") if found else None
            if not blob:
                continue
            try:
                gegevens = self._open(kluis, str(found[1]["deelnemer"]), bytes(blob)) if found else None
            except ValueError as exc:  # another key or damaged bytes: try the next event, say so without content
                log.warning("persoonsgegevens at p%d@%d do not open: %s", pos[0], pos[1], exc)
                continue
            if gegevens is None:  # the data key is gone: erased
                continue
            if persoon_uit(gegevens) is not None:
                return gegevens
        return None

    def _open(self, kluis: Gegevenskluis, deelnemer: str, blob: bytes) -> dict[str, Any] | None:
        """An event from before a pseudonym key rotation names the old form; its data key is filed under the newest
        (registry/infra/pseudoniem_rotatie.py)."""
        with self.context.engine.connect() as conn:
            huidig = pseudoniem_rotatie.nieuwste(conn, self.context.read_schema, deelnemer)
        return kluis.ontsleutel(deelnemer, blob, huidig=huidig)


def bronnen(context: Context) -> Bronnen:
    return LogBronnen(context)


Sources = Annotated[Bronnen, Depends(bronnen)]


problems.PROBLEM_TYPES.setdefault(
    "public-url-unset",
    (
        "Public URL not set",
        "PRAKTIJK_PUBLIC_URL is not set: the registry signs and prints no URL it would have to take from a request.",
    ),
)


def base_url(context: Any) -> str:
    """``PRAKTIJK_PUBLIC_URL``: the only source of every URL and ``iss`` the registry signs or prints. Never the
    request's ``Host``: whoever sends ``Host: evil.example`` would get a credential naming a status list there.
    Unset: 503 naming the setting."""
    url = str(context.settings.public_url or "").rstrip("/")
    if not url:
        raise ProblemError(
            503,
            "public-url-unset",
            "PRAKTIJK_PUBLIC_URL is not set: the registry signs and prints no URL taken from a request",
        )
    return url


def check_scope(principal: ApiKey, feiten: dict[str, Any]) -> None:
    """landelijk: every verklaring; instelling: only those of a traject at that instelling (else 403)."""
    if principal.scope.kind == "landelijk":
        return
    owner = feiten.get("mbo_instelling_id")
    if principal.scope.kind == "instelling" and owner and same_instelling(owner, principal.scope.value):
        return
    raise forbid(principal, "the verklaring belongs to another instelling")


def check_not_erased(feiten: dict[str, Any]) -> None:
    if feiten.get("verwijderd_op") is not None:
        raise ProblemError(410, "gone", f"the deelnemer's persoonsgegevens were erased on {feiten['verwijderd_op']}")


def key_problem(exc: SleutelFout) -> ProblemError:
    log.error("key file problem: %s", exc)
    return ProblemError(
        503, "key-unavailable", "a key file of the registry is missing or unreadable; see the server log"
    )


def log_problem(exc: LogFout) -> ProblemError:
    log.error("canonical log: %s", exc)
    return ProblemError(503, "log-unavailable", str(exc))


def document_van(feiten: dict[str, Any], src: Bronnen, base: str) -> VerklaringDocument:
    """The document content: the facts plus the opened persoonsgegevens (503 when a key or the log is missing)."""
    try:
        gegevens = src.persoonsgegevens([tuple(p) for p in feiten.get("persoonsgegevens_posities") or []])
    except SleutelFout as exc:
        raise key_problem(exc) from None
    except LogFout as exc:
        raise log_problem(exc) from None
    persoon: Persoon | None = persoon_uit(gegevens)
    return bouw_document(feiten, persoon, f"{base}/verificatie/{feiten['verklaring_id']}")


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def status_list_url(base: str, partitie: int) -> str:
    return f"{base}/v1/statuslijst/{partitie}"


def credential_token(doc: VerklaringDocument, feiten: dict[str, Any], signer: Ondertekenaar, base: str) -> str:
    """The verklaring as a signed OpenBadgeCredential (VC-JWT); ``base`` is the public URL (issuer, status list)."""
    partitie, offset = feiten["log_positie"]
    issued: dt.datetime = feiten["uitgegeven_om"]
    claims = open_badge_credential(
        doc,
        issuer_url=base,
        issued_at=issued,
        salt=signer.salt(doc.verklaring_id),
        status_list_url=status_list_url(base, partitie),
        status_index=offset,
    )
    claims.update({"iss": base, "jti": claims["id"], "nbf": _epoch(issued)})
    return signer.sign(claims)


def statuslijst_token(
    signer: Ondertekenaar,
    base: str,
    partitie: int,
    gezet: set[int],
    hoogste: int,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
) -> str:
    """A partition's signed BitstringStatusListCredential, valid from ``valid_from`` until ``valid_until``."""
    url = status_list_url(base, partitie)
    claims = status_list_credential(
        issuer_url=base,
        list_url=url,
        encoded_list=encode_bitstring(gezet, hoogste + 1),
        issued_at=valid_from,
        valid_until=valid_until,
    )
    claims.update(
        {"iss": base, "jti": url, "iat": _epoch(valid_from), "nbf": _epoch(valid_from), "exp": _epoch(valid_until)}
    )
    return signer.sign(claims)


@dataclass(frozen=True)
class Voorbeeld:
    """What the demo wrote: the PDF, and the signed credential with its status list and the public key set."""

    verklaring_id: str
    verificatie_url: str
    pdf: Path
    credential: Path | None  # None: the verklaring's log position is not projected
    statuslijst: Path | None
    sleutels: Path | None


def schrijf_voorbeeld(settings: Any, rm: Any, pad: Path, base: str) -> Voorbeeld | None:
    """For the demo: render the first verklaring (by id) whose persoonsgegevens are not erased to ``pad`` (PDF),
    read from the live read models and canonical log, and next to it its signed credential (``.jwt``), its
    partition's status list and the public key set, so it can be checked offline. None when there is no such
    verklaring."""
    from registry.domein.telregels import DEFAULT_READ_SCHEMA
    from registry.infra import topics
    from registry.infra.db import engine as make_engine

    eng = make_engine(settings.database_url)
    try:
        with eng.connect() as raw:
            conn = raw.execution_options(praktijk_schema=DEFAULT_READ_SCHEMA)
            for vid in rm.verklaringen_met_prefix(conn, ""):
                feiten = rm.verklaring_document(conn, vid)
                if feiten is None or feiten.get("verwijderd_op") is not None:
                    continue
                # the demo has no app: a stand-in for the three context fields LogBronnen reads (the schema: for
                # pseudonym rotation, the topic: for the sealed persoonsgegevens, the engine: for the data key)
                src = LogBronnen(
                    type(
                        "DemoContext",
                        (),
                        {
                            "settings": settings,
                            "events_topic": topics.DEFAULT.events,
                            "engine": eng,
                            "read_schema": DEFAULT_READ_SCHEMA,
                        },
                    )()
                )
                return schrijf_bestanden(settings, rm, conn, feiten, src, pad, base)
    finally:
        eng.dispose()
    return None


def schrijf_bestanden(
    settings: Any, rm: Any, conn: Any, feiten: dict[str, Any], src: Bronnen, pad: Path, base: str
) -> Voorbeeld:
    """The PDF at ``pad`` and next to it the credential, its partition's status list (valid from now for
    ``settings.status_list_validity``) and the public key set."""
    from registry.api import pdf

    doc = document_van(feiten, src, base)
    pad.parent.mkdir(parents=True, exist_ok=True)
    pad.write_bytes(pdf.render(doc))
    if feiten.get("log_positie") is None:
        return Voorbeeld(doc.verklaring_id, doc.verificatie_url, pad, None, None, None)
    signer = src.ondertekenaar()
    partitie = feiten["log_positie"][0]
    gezet, hoogste = rm.ingetrokken_in_partitie(conn, partitie)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cred, lijst, sleutels = (
        pad.with_suffix(".jwt"),
        pad.with_name(f"statuslijst-{partitie}.jwt"),
        pad.with_name("praktijkregister-keys.json"),
    )
    cred.write_text(credential_token(doc, feiten, signer, base))
    lijst.write_text(
        statuslijst_token(signer, base, partitie, gezet, hoogste, now, now + settings.status_list_validity)
    )
    sleutels.write_text(json.dumps(signer.jwks()))
    return Voorbeeld(doc.verklaring_id, doc.verificatie_url, pad, cred, lijst, sleutels)
