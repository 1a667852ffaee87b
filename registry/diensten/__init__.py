"""The application layer: one module per use case, called by both entry points, the API routers
(``registry.api.routes``) and the Praktijkloket pages (``registry.api.web``), so a page shows exactly what the API
answers for the same key.

A use case takes plain typed arguments (the ``ReadQueries`` port, the request's ``Antwoorden``, the key, parsed
parameters) and returns typed results or raises ``ProblemError``; it knows no FastAPI request, response or
dependency. It reads only through the API's ports (no ``projections``, ``consumers`` or ``producers``; checked by
``[tool.importlinter]``).
"""
