"""Bulk import of learners: 100,000 generated rows checked and imported, from XLSX and CSV.

Each run of each format is a child process of its own on a throw-away database
(test_<name>, as bench_pages does), so that its peak memory is its own; the figures are
medians over the runs (the machine is small and shared). Memory is the child's peak
resident set size, Python and Django included (not a tracemalloc count): the kernel's
VmHWM from /proc/self/status, reset through /proc/self/clear_refs after start-up
(migrations, demo regions) so that it is the import's own peak. (Not getrusage's
ru_maxrss: Linux carries it over from the parent through fork and exec, and the parent has
just generated the workbook.) A large file is checked by forked worker processes too, so
the child also samples the proportional set size (PSS) of itself and its workers together,
which counts the pages a worker still shares with its parent once. CPU seconds are given
per step for the process, its finished workers and, when PostgreSQL runs on this machine,
the connection's server process. The check and the apply run through the job framework
exactly as in production (inline, not queued).

    .venv/bin/python benchmarks/run.py bench_import
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<name> \\
        .venv/bin/python benchmarks/run.py bench_import
    IMPORT_ROWS=20000 IMPORT_RUNS=1 IMPORT_FORMATS=csv ...   # a quicker run
    IMPORT_BASELINE=/path/to/another/checkout ...   # that code too, run by run, side by side
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
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


def _run_child(code: Path, path: Path, var: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", str(path), str(code)],
        env={**os.environ, "CPE_VAR_DIR": str(var)},
        cwd=code,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr[-4000:])
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run() -> list[tuple[str, str]]:
    rows = int(os.environ.get("IMPORT_ROWS", "100000"))
    runs = int(os.environ.get("IMPORT_RUNS", "3"))
    formats = os.environ.get("IMPORT_FORMATS", "csv,xlsx").split(",")
    # Another checkout (e.g. a `git worktree` of main) to measure side by side, run by run.
    codes = {"": ROOT}
    if os.environ.get("IMPORT_BASELINE"):
        codes = {"baseline ": Path(os.environ["IMPORT_BASELINE"]).resolve(), "": ROOT}
    figures: dict[tuple[str, str], list[dict]] = {}
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="cpe-bench-import-") as directory:
        files = _generate(Path(directory), rows)
        for run_number in range(runs):
            for file_format in formats:
                path = files[file_format]
                sizes[file_format] = path.stat().st_size
                for name, code in codes.items():
                    var = Path(directory) / f"var-{run_number}-{file_format}-{len(name)}"
                    result = _run_child(code, path, var)
                    figures.setdefault((name, file_format), []).append(result)
    table = []
    for (name, file_format), results in figures.items():
        median = statistics.median
        check = median(f["check_s"] for f in results)
        apply = median(f["apply_s"] for f in results)
        both = median(f["check_s"] + f["apply_s"] for f in results)
        count = results[0]["rows"]
        label = f"{name}{file_format.upper()} {count:,} rows ({sizes[file_format] / 1e6:.1f} MB)"

        table += [
            (
                f"{label}: check",
                f"{check:6.1f} s  {count / check:8,.0f} rows/s  (CPU s: {_cpu(results, 'check')})",
            ),
            (
                f"{label}: apply",
                f"{apply:6.1f} s  {count / apply:8,.0f} rows/s  (CPU s: {_cpu(results, 'apply')})",
            ),
            (f"{label}: check + apply", f"{both:6.1f} s  {count / both:8,.0f} rows/s"),
            (
                f"{label}: peak memory",
                f"{max(f['import_peak_mb'] for f in results):6.0f} MB RSS during the import "
                f"(from {results[0]['baseline_mb']:.0f} MB); with its workers "
                f"{max(f.get('tree_peak_mb', 0) for f in results):.0f} MB PSS "
                f"(largest worker {max(f.get('worker_peak_mb', 0) for f in results):.0f} MB RSS)",
            ),
            (
                f"{label}: runs (check + apply)",
                " ".join(f"{f['check_s'] + f['apply_s']:.1f}" for f in results) + " s",
            ),
        ]
    return table


def _cpu(results: list[dict], step: str) -> str:
    """Median CPU seconds of a step by where they were spent."""
    return ", ".join(
        f"{key} {statistics.median(f[step + '_cpu'][key] for f in results):.1f}"
        for key in ("process", "workers", "database")
        if any(f.get(step + "_cpu", {}).get(key) for f in results)
    )


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


class _TreeMemory(threading.Thread):
    """The highest proportional set size (PSS) of this process and its worker processes
    together, sampled every 20 ms. PSS shares each page among the processes that map it, so
    pages a forked worker still shares with its parent count once, not once per process."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            self.peak = max(self.peak, sum(_pss_mb(pid) for pid in _tree(os.getpid())))

    def stop(self) -> float:
        self.stopped.set()
        self.join()
        return self.peak


def _tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in task.read_text().split():
                pids.extend(_tree(int(child)))
    return pids


def _pss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak() -> float:
    return _status_mb("VmHWM")


class _Cpu:
    """Wall time and CPU seconds of each step: this process, its worker processes (those
    finished), and the database server's backend for this connection when it runs on this
    machine (PostgreSQL; read from /proc, so only where that is readable)."""

    def __init__(self) -> None:
        self.last = self._now()

    def _now(self) -> dict[str, float]:
        times = os.times()
        return {
            "wall": time.perf_counter(),
            "process": times.user + times.system,
            "workers": times.children_user + times.children_system,
            "database": _backend_cpu(),
        }

    def lap(self) -> dict[str, float]:
        now = self._now()
        lap = {key: now[key] - self.last[key] for key in now}
        self.last = self._now()  # the reading itself costs a query
        return lap


def _backend_cpu() -> float:
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child(path: Path, code: Path) -> None:
    sys.path.insert(0, str(code))
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

        assert Path(sys.modules["cpe"].__file__).is_relative_to(code)

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
        memory = _TreeMemory()
        memory.start()
        upload = SimpleUploadedFile(path.name, path.read_bytes())
        cpu = _Cpu()
        learner_import = learner_import_start(actor=actor, district=officer.region, upload=upload)
        learner_import.refresh_from_db()
        check = cpu.lap()
        assert learner_import.state == LearnerImport.State.CHECKED, learner_import.message
        learner_import_confirm(actor=actor, learner_import=learner_import)
        learner_import.refresh_from_db()
        apply = cpu.lap()
        assert learner_import.state == LearnerImport.State.APPLIED, learner_import.message
        assert Learner.objects.count() == learner_import.new_count == learner_import.total_rows
        figures = {
            "rows": learner_import.total_rows,
            "check_s": check["wall"],
            "apply_s": apply["wall"],
            "check_cpu": check,
            "apply_cpu": apply,
            "baseline_mb": baseline,
            "import_peak_mb": _peak(),
            "tree_peak_mb": memory.stop(),
            "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "startup_peak_mb": startup_peak,
        }
    finally:
        teardown_databases(databases, verbosity=0)
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else ROOT)
    else:
        for what, figure in run():
            print(f"{what:<45} {figure}")
