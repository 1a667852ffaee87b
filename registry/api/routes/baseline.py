"""GET /v1/bench/baseline: the bench's floor for a cached answer. Fixed bytes (the bench's copy of a cached overzicht)
behind the same middlewares as every route of the app, without key, dependencies or database, so the bench can
tell what the framework costs from what a cached answer adds. Mounted only when ``PRAKTIJK_BENCH_BASELINE_FILE``
is set (``create_app``); never in production."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response

PATH = "/v1/bench/baseline"  # under /v1/: the same headers as an API answer (headers.py)


def router(body_file: str) -> APIRouter:
    """The route answering ``body_file``'s bytes, read once now (the bench writes the file before the server
    starts)."""
    body = Path(body_file).read_bytes()
    routes = APIRouter(include_in_schema=False)

    async def baseline() -> Response:
        return Response(body, media_type="application/json")

    routes.add_api_route(PATH, baseline, methods=["GET"])
    return routes
