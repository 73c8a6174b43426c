"""Bulk import of learners: 100,000 generated rows checked and imported, from XLSX and CSV.

Each format runs in a child process of its own on a throw-away database (test_<name>, as
bench_pages does), so that its peak memory is its own. Memory is the child's peak
resident set size, Python and Django included (not a tracemalloc count): the kernel's
VmHWM from /proc/self/status, read once after start-up (migrations, demo regions) and once
at the end after resetting it through /proc/self/clear_refs, so the second figure is the
import's own peak. (Not
getrusage's ru_maxrss: Linux carries it over from the parent through fork and exec, and the
parent has just generated the workbook.) The check and the apply run through the job
framework exactly as in production (inline, not queued).

    .venv/bin/python benchmarks/run.py bench_import
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<name> \\
        .venv/bin/python benchmarks/run.py bench_import
    IMPORT_ROWS=20000 .venv/bin/python benchmarks/run.py bench_import   # a quicker run
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _generate(directory: Path, rows: int) -> dict[str, Path]:
    sys.path.insert(0, str(ROOT))
    from cpe.registry import import_samples

    files = {
        "xlsx": directory / "people.xlsx",
        "csv": directory / "people.csv",
    }
    files["xlsx"].write_bytes(import_samples.xlsx_bytes(import_samples.people(rows)))
    files["csv"].write_bytes(import_samples.csv_bytes(import_samples.people(rows)))
    return files


def run() -> list[tuple[str, str]]:
    rows = int(os.environ.get("IMPORT_ROWS", "100000"))
    results = []
    with tempfile.TemporaryDirectory(prefix="cpe-bench-import-") as directory:
        files = _generate(Path(directory), rows)
        for file_format, path in files.items():
            env = {**os.environ, "CPE_VAR_DIR": str(Path(directory) / f"var-{file_format}")}
            completed = subprocess.run(
                [sys.executable, __file__, "--child", str(path)],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            if completed.returncode != 0:
                raise RuntimeError(completed.stderr[-4000:])
            figures = json.loads(completed.stdout.strip().splitlines()[-1])
            results.append((file_format, figures, path.stat().st_size))
    table = []
    for file_format, f, size in results:
        total = f["check_s"] + f["apply_s"]
        label = f"{file_format.upper()} {f['rows']:,} rows ({size / 1e6:.1f} MB)"
        table += [
            (f"{label}: check", f"{f['check_s']:6.1f} s  {f['rows'] / f['check_s']:8,.0f} rows/s"),
            (f"{label}: apply", f"{f['apply_s']:6.1f} s  {f['rows'] / f['apply_s']:8,.0f} rows/s"),
            (f"{label}: check + apply", f"{total:6.1f} s  {f['rows'] / total:8,.0f} rows/s"),
            (
                f"{label}: peak memory",
                f"{f['import_peak_mb']:6.0f} MB RSS during the import "
                f"(from {f['baseline_mb']:.0f} MB; start-up peak {f['startup_peak_mb']:.0f} MB)",
            ),
        ]
    return table


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> float:
    """Forget the start-up peak so the next reading is the import's own; the current size."""
    with contextlib.suppress(OSError):  # not Linux: the process peak is all there is
        Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def _peak() -> float:
    return _status_mb("VmHWM")


def _child(path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpe.settings")
    os.environ.setdefault("DEBUG", "true")  # generated secrets, as in development
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log: a production worker keeps none
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.utils import setup_databases, teardown_databases
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True  # the jobs run inline when their transaction commits
    from django.db import connection

    if connection.vendor == "sqlite":
        # A database file, as in use, not the in-memory database tests get.
        var = Path(os.environ["CPE_VAR_DIR"])
        var.mkdir(parents=True, exist_ok=True)
        connection.settings_dict["TEST"]["NAME"] = str(var / "bench-import.sqlite3")
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        from cpe.accounts.services import user_create
        from cpe.core.services import Actor
        from cpe.regions import demo
        from cpe.regions.models import Region
        from cpe.registry.imports import learner_import_confirm, learner_import_start
        from cpe.registry.models import Learner, LearnerImport

        demo.seed(Actor.for_system("bench"))
        officer = user_create(
            actor=Actor.for_system("bench"),
            username="officer-bench",
            password="bench-password-1",  # noqa: S106
            role="district_officer",
            region=Region.objects.get(code="420102"),
        )
        actor = Actor(user=officer)
        startup_peak = _peak()
        baseline = _reset_peak()
        upload = SimpleUploadedFile(path.name, path.read_bytes())
        started = time.perf_counter()
        learner_import = learner_import_start(actor=actor, district=officer.region, upload=upload)
        learner_import.refresh_from_db()
        checked = time.perf_counter()
        assert learner_import.state == LearnerImport.State.CHECKED, learner_import.message
        learner_import_confirm(actor=actor, learner_import=learner_import)
        learner_import.refresh_from_db()
        applied = time.perf_counter()
        assert learner_import.state == LearnerImport.State.APPLIED, learner_import.message
        assert Learner.objects.count() == learner_import.new_count == learner_import.total_rows
        figures = {
            "rows": learner_import.total_rows,
            "check_s": checked - started,
            "apply_s": applied - checked,
            "baseline_mb": baseline,
            "import_peak_mb": _peak(),
            "startup_peak_mb": startup_peak,
        }
    finally:
        teardown_databases(databases, verbosity=0)
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(Path(sys.argv[2]))
    else:
        for what, figure in run():
            print(f"{what:<45} {figure}")
