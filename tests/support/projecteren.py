"""Project a test's canonical log into its own read-model schema once, with the real projector."""

from __future__ import annotations

from consumers.projector import RunnerConfig, make_runner, run


def project_once(bootstrap: str | list[str], database_url: str, prefix: str, schema: str) -> None:
    """Every projection of ``<prefix>.events`` / ``<prefix>.rejections`` into ``schema``, until caught up."""
    servers = [bootstrap] if isinstance(bootstrap, str) else bootstrap
    cfg = RunnerConfig(
        bootstrap=servers,
        database_url=database_url,
        schema=schema,
        events_topic=f"{prefix}.events",
        rejections_topic=f"{prefix}.rejections",
        topic_wait_s=5.0,
    )
    runner = make_runner(cfg, ["all"])
    try:
        runner.start()
        run([runner], once=True)
    finally:
        runner.close()
