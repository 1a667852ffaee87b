"""GET /problems/{slug}: the documentation a problem+json ``type`` URI dereferences to (not in the schema)."""

from __future__ import annotations

from fastapi import APIRouter

from registry.api import problems
from registry.api.problems import ProblemError

router = APIRouter()


@router.get("/problems/{slug}", include_in_schema=False)
def problem_type(slug: str) -> dict[str, str]:
    if slug not in problems.PROBLEM_TYPES:
        raise ProblemError(404, "not-found", "unknown problem type", valid_values=sorted(problems.PROBLEM_TYPES))
    title, description = problems.PROBLEM_TYPES[slug]
    return {"type": problems.TYPE_BASE + slug, "title": title, "description": description}
