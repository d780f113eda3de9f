"""`python -m benchmarks [NAME ...]`: run the benchmarks (all by default), write JSON results, print a table."""

from __future__ import annotations

import argparse
import importlib
import sys

from benchmarks.harness import RESULTS_DIR, BenchResult, print_table

MODULES = [
    "bench_ingest_lake",
    "bench_contracts",
    "bench_training",
    "bench_serving",
    "bench_simulation",
    "bench_cml_deploy",
    "bench_monitoring",
    "bench_spark",
    "bench_startup",
    "bench_capture",
    "bench_capture_store",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmark modules to run (default: all of {', '.join(MODULES)})")
    args = parser.parse_args()
    unknown = set(args.names) - set(MODULES)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    results: list[BenchResult] = []
    for name in args.names or MODULES:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"running {name} ...", flush=True)
        for result in module.run():
            path = result.write()
            results.append(result)
            print(f"  {result.name}: {result.value:.3f} {result.unit} -> {path.relative_to(RESULTS_DIR.parent.parent)}")
    print()
    print_table(results)
    failed = [r.name for r in results if not r.passed]
    if failed:
        print(f"\nmissed targets: {', '.join(failed)}")
    # Missing a target is reported, not fatal: the numbers are the product here.
    return 0


if __name__ == "__main__":
    sys.exit(main())
