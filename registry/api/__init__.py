"""The registry's HTTP query API (FastAPI): read models, verification, status and metrics."""
