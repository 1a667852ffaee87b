"""Scan everything the stack holds for personal data of the demo: run after ``./ops/demo``.

    ./ops/demo --no-serve && .venv/bin/python ops/privacy_scan.py

Looks in every record (key and value bytes) of every Kafka topic, every row of every table in
every non-system PostgreSQL schema, and every log file under the cache folder, for:
* any 9-digit number that passes the elfproef (a BSN shape), except the demo's leerbedrijf ids,
  which are public SBB numbers of the same shape;
* any BSN of the demo data set (whatever its surroundings);
* any name of a demo deelnemer.
Prints what it scanned and every finding; exits 1 when something was found.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file from the repository root

from kafka import KafkaAdminClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from registry import bootstrap  # noqa: E402
from registry.demo import data as demodata  # noqa: E402
from registry.demo import tellingen  # noqa: E402
from registry.demo.doelen import PEILDATUM  # noqa: E402
from registry.domein import identifiers  # noqa: E402
from registry.infra import settings as settings_mod  # noqa: E402
from registry.infra.db import engine  # noqa: E402
from registry.infra.kafka import client_config  # noqa: E402
from registry.infra.topics import read_to_end  # noqa: E402

NINE = re.compile(rb"(?<![0-9A-Za-z])[0-9]{9}(?![0-9A-Za-z])")


def demo_secrets() -> tuple[set[str], set[str], set[str]]:
    """(BSNs, names, leerbedrijf ids) of the demo data set, tellingen included."""
    records = demodata.generate()
    rows = [r.record for r in records + tellingen.tellingen(records, PEILDATUM) + demodata.refusals()]
    bsns = {r["bsn"] for r in rows if "bsn" in r}
    bsns |= {d["bsn"] for r in rows for d in (r.get("deelnemers") or []) if isinstance(d, dict) and "bsn" in d}
    names = {r["naam"] for r in rows if r["type"] in ("DeelnemerIngeschreven", "KandidaatAangemeld") and r.get("naam")}
    leerbedrijven = {str(r["leerbedrijf_id"]) for r in rows if r["type"] == "LeerbedrijfErkend"}
    return bsns, names, leerbedrijven


class Scan:
    def __init__(self) -> None:
        self.bsns, self.names, self.leerbedrijven = demo_secrets()
        # one alternation each: a single pass per blob instead of one search per name or BSN
        self.name_re = re.compile(b"|".join(re.escape(n.encode()) for n in sorted(self.names) if len(n) > 4))
        self.bsn_re = re.compile(b"|".join(re.escape(b.encode()) for b in sorted(self.bsns)))
        self.findings: list[str] = []
        self.scanned: dict[str, int] = {"records": 0, "rows": 0, "log bytes": 0}

    def check(self, where: str, blob: bytes) -> None:
        for m in NINE.finditer(blob):
            value = m.group().decode()
            if identifiers.bsn(value) is None and value not in self.leerbedrijven:
                self.findings.append(
                    f"{where}: elfproef-valid 9-digit number {'(a demo BSN) ' if value in self.bsns else ''}"
                    f"at byte {m.start()}"
                )
        if self.bsn_re.search(blob):  # also inside longer tokens (a given 9-digit run inside hex is ~1e-9 likely)
            self.findings.append(f"{where}: a demo BSN")
        if self.name_re.search(blob):
            self.findings.append(f"{where}: a demo deelnemer's name")


def scan_kafka(scan: Scan, s: settings_mod.Settings) -> None:
    admin = KafkaAdminClient(**client_config(s.kafka_servers), client_id="privacy-scan")
    try:
        names = sorted(t for t in admin.list_topics() if not t.startswith("__"))
    finally:
        admin.close()
    for topic in names:
        for rec in read_to_end(s.kafka_servers, topic):
            scan.scanned["records"] += 1
            scan.check(f"kafka {topic}@{rec.partition}:{rec.offset}", (rec.key or b"") + b"\x00" + (rec.value or b""))


def scan_database(scan: Scan, s: settings_mod.Settings) -> None:
    eng = engine(s.database_url)
    with eng.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
        ).all()
        for schema, table in tables:
            for (row,) in conn.execute(text(f'SELECT t::text FROM "{schema}"."{table}" t')):
                scan.scanned["rows"] += 1
                scan.check(f"postgres {schema}.{table}", row.encode())


def scan_logs(scan: Scan) -> None:
    cache = Path(os.environ.get("PRAKTIJK_CACHE_DIR", ROOT / ".cache"))
    logs = list(cache.rglob("*.log"))
    record = cache / "pg" / "datadir"
    if record.exists():
        logs += list(Path(record.read_text().strip()).parent.glob("*.log"))
    for log in logs:
        blob = log.read_bytes()
        scan.scanned["log bytes"] += len(blob)
        scan.check(f"log {log}", blob)


def main() -> int:
    scan = Scan()
    s = bootstrap.configure(settings_mod.load())  # once, for this scan: the Kafka login and the database
    scan_kafka(scan, s)
    scan_database(scan, s)
    scan_logs(scan)
    print(
        f"scanned {scan.scanned['records']} Kafka records, {scan.scanned['rows']} table rows, "
        f"{scan.scanned['log bytes']} bytes of logs for {len(scan.bsns)} demo BSNs, {len(scan.names)} names "
        f"and any elfproef-valid 9-digit number"
    )
    for f in scan.findings[:50]:
        print("FOUND", f)
    print(f"{len(scan.findings)} finding(s)")
    return 1 if scan.findings else 0


if __name__ == "__main__":
    sys.exit(main())
