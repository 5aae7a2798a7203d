"""keyvault benchmark: ``python -m tests.bench [--quick]``, run by ``make bench [QUICK=1]``.

Builds synthetic data in a throw-away database on the engine ``DATABASE_URL`` names (SQLite by
default), measures each figure as the median of several runs, prints a table, writes JSON to
``var/bench/`` and ends with one line holding a JSON object of every ratio and count.

Runs with ``TIME_ZONE=UTC`` (the scan's SQL baseline counts calendar days in UTC) and with
logging below WARNING silenced (a log line per request or scan is not what is measured).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ["TIME_ZONE"] = "UTC"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    args = parser.parse_args(argv)

    import django

    django.setup()
    logging.disable(logging.INFO)
    from django.db import connection
    from django.test.utils import setup_test_environment

    from tests.bench import figures

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    started = time.perf_counter()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        results = figures.run_all(
            quick=args.quick, progress=lambda line: print(line, file=sys.stderr, flush=True)
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)
    elapsed = time.perf_counter() - started

    missed = [name for f in results for name, ok in f.targets if not ok]
    summary: dict[str, Any] = {
        "engine": connection.vendor,
        "quick": args.quick,
        "cpus": os.cpu_count(),
    }
    for figure in results:
        summary.update(figure.summary)
    summary["targets_met"] = not missed
    summary["targets_missed"] = missed
    summary["seconds"] = round(elapsed, 1)
    print_table(results, vendor=connection.vendor, version=_server_version(connection))
    out_dir = Path(os.environ.get("KEYVAULT_BENCH_DIR", "var/bench"))
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = out_dir / f"bench-{connection.vendor}-{'quick' if args.quick else 'full'}-{stamp}.json"
    path.write_text(
        json.dumps({"summary": summary, "figures": [f.as_dict() for f in results]}, indent=2)
    )
    print(f"\nwritten: {path}  ({elapsed:.0f} s)")
    for name in missed:
        print(f"target missed: {name}")
    print(json.dumps(summary, sort_keys=True))
    return 0


def _server_version(connection: Any) -> str:
    if connection.vendor == "postgresql":
        return f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


def print_table(results: list[Any], *, vendor: str, version: str) -> None:
    print(
        f"keyvault benchmark on {version}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    for figure in results:
        print(f"\n## {figure.title}")
        columns = list(dict.fromkeys(key for row in figure.rows for key in row))
        cells = [[_cell(row.get(c, "")) for c in columns] for row in figure.rows]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        print("  " + "  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
        for row in cells:
            print("  " + "  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))
        for name, ok in figure.targets:
            print(f"  target {'met   ' if ok else 'MISSED'}  {name}")


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
