"""Jinja2 templates of the Praktijkloket pages (``registry/api/templates``) and their helpers.

Other page routes (e.g. the public verification page) can render with ``templates`` and extend ``base.html``
(blocks ``title`` and ``inhoud``); everything a page loads comes from ``/static`` (see ``csp.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from registry.api.web.svg import GEEN

PACKAGE = Path(__file__).resolve().parent.parent  # registry/api
TEMPLATES_DIR = PACKAGE / "templates"
STATIC_DIR = PACKAGE / "static"


def cel(value: Any) -> Markup:
    """A table cell: ``–`` for no value (None), else the value."""
    if value is None:
        return Markup('<span class="leeg" title="geen waarde">{}</span>').format(GEEN)
    if isinstance(value, bool):
        return Markup("ja" if value else "nee")
    if isinstance(value, (list, tuple)):
        return escape(", ".join(str(v) for v in value))
    return escape(str(value))


def is_getal(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["cel"] = cel
templates.env.tests["getal"] = is_getal
