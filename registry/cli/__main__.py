"""``python -m registry.cli``: the same as the ``praktijkregister`` command."""

from registry.cli.main import app

app()
