"""How a key's scope narrows what it may ask: aggregate filters and ownership of trajecten/deelnemers."""

from __future__ import annotations

from registry.api.auth import ApiKey, canonical_instelling
from registry.api.deps import canonical_pilot, forbid, instelling_param, regio_param
from registry.domein import referentie


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
