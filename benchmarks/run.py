"""Run every benchmarks/bench_*.py and print its figures. `make bench` calls this.

Each benchmark module has `run() -> list[tuple[str, str]]`: rows of (what, figure). The
machine is small and noisy, so benchmarks report medians and compare side by side.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    only = sys.argv[1:]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"database: {os.environ.get('DATABASE_URL') or 'SQLite (embedded default)'}\n")
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem not in only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module  # dataclasses look their module up there
        assert spec.loader
        spec.loader.exec_module(module)
        started = time.perf_counter()
        rows = module.run()
        print(f"== {path.stem} ({time.perf_counter() - started:.1f} s)")
        width = max(len(what) for what, _ in rows)
        for what, figure in rows:
            print(f"  {what:<{width}}  {figure}")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
