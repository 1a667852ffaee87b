"""How a key's scope narrows what it may ask: the 403 checks, aggregate filters and ownership of
trajecten/deelnemers."""

from __future__ import annotations

from registry.api.auth import UNQUALIFIED, ApiKey, Kind, canonical_instelling
from registry.api.params import canonical_pilot, instelling_param, regio_param
from registry.api.problems import ProblemError
from registry.domein import referentie


def forbid(principal: ApiKey, detail: str) -> ProblemError:
    return ProblemError(
        403, "forbidden", f"scope {principal.scope} does not allow this: {detail}", scope=str(principal.scope)
    )


def require(principal: ApiKey, *kinds: Kind) -> None:
    """403 unless the key's scope is one of ``kinds``."""
    if principal.scope.kind not in kinds:
        raise forbid(
            principal,
            f"requires one of the scopes {', '.join(k if k in UNQUALIFIED else k + ':...' for k in kinds)}",
        )


def aggregate_filters(
    principal: ApiKey, pilot: str | None, regio: str | None, instelling: str | None
) -> tuple[str | None, str | None, str | None]:
    """Canonical (pilot, regio, instelling) filters, narrowed to the key's scope; 403 when they ask beyond it."""
    pilot = canonical_pilot(pilot) if pilot else None
    regio = regio_param(regio) if regio else None
    instelling = instelling_param(instelling) if instelling else None
    scope = principal.scope
    if scope.kind == "regio":
        if regio is not None and regio != scope.value:
            raise forbid(principal, f"regio {regio!r} is outside the key's region")
        if pilot is not None and referentie.pilots()[pilot].arbeidsmarktregio != scope.value:
            raise forbid(principal, f"pilot {pilot!r} is not in arbeidsmarktregio {scope.value!r}")
        regio = scope.value
    elif scope.kind == "instelling":
        if instelling is not None and instelling != scope.value:
            raise forbid(principal, f"instelling {instelling!r} is not the key's instelling")
        instelling = scope.value
    elif scope.kind == "publiek" and (regio is not None or instelling is not None):
        # every extra cut of the same table is another way to difference out a suppressed cell
        raise forbid(principal, "publiek overzichten can be narrowed by pilot only")
    return pilot, regio, instelling


def same_instelling(stored: str, scope_value: str | None) -> bool:
    """Whether an instelling as stored in the read models (partner id or name) is the key's instelling."""
    return (canonical_instelling(stored) or stored) == scope_value
