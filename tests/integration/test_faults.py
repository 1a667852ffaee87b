"""The short fault suite: ``./ops/faults --short`` starts a PRIVATE stack (its own Kafka and PostgreSQL,
so the shared one is never stopped), streams events, kills the validator, the broker and the database (one of each kind; the full run does all),
kills the API under load and sends poison; the table it prints must show nothing lost, nothing duplicated and read
models equal to a clean replay after every fault. It runs beside the other integration tests (``short_fault_run`` in
tests/integration/conftest.py starts it with the first of them)."""

from __future__ import annotations

from tests.support.faults.kort import KorteRun

FAULTS = [
    "validator SIGKILL",
    "Kafka SIGKILL + restart",
    "PostgreSQL stop -m immediate + start",
    "API SIGKILL under load",
    "poison input",
]  # the short run's subset, in order (tests/support/faults/suite.py)


def parse_table(out: str) -> dict[str, dict[str, str]]:
    """The markdown table ./ops/faults prints: fault -> {column: cell}."""
    lines = [line for line in out.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=False)) for line in lines[1:]]
    return {r["fault"]: r for r in rows}


def test_short_fault_suite_loses_and_duplicates_nothing(short_fault_run: KorteRun | None) -> None:
    assert short_fault_run is not None, "the fixture starts the run when this test is collected"
    done = short_fault_run.result()
    table = parse_table(done.stdout)
    # every failure shows the whole table and its notes, what the suite itself logged (which rows of a table
    # differ, ...), and the end of the components' logs
    suite_log = "\n".join(line for line in done.stderr.splitlines() if " faults" in line)
    shown = f"{done.stdout}\n{suite_log[-6000:]}\n{done.stderr[-3000:]}"
    assert list(table) == FAULTS, shown
    for fault, row in table.items():
        assert int(row["repetitions"]) >= 1, f"{fault}\n{shown}"
        assert int(row["events in"]) > 0, f"{fault}: no events flowed during the fault\n{shown}"
        assert int(row["in canonical log"]) == int(row["events in"]), f"{fault}\n{shown}"
        assert (row["lost"], row["duplicates"]) == ("0", "0"), f"{fault}\n{shown}"
        assert row["read models equal"] == "yes", f"{fault}\n{shown}"
        assert "never" not in row["recovery time (s)"], f"{fault}: no recovery\n{shown}"
    assert "0 wrong" in done.stdout and "5 records sent, 5 dead letters" in done.stdout, shown
    assert done.returncode == 0, shown
