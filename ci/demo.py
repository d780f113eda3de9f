"""The main job: generate the default project under build/demo/ and run every lifecycle step built so far."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ci.lifecycle import REPO_ROOT, bake_project, print_summary, run_steps

STEPS = [
    ("download", ["ingest", "--no-progress"]),
    ("lake", ["lake", "load"]),
    ("validate", ["validate"]),
    ("eda", ["eda"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output-dir", type=Path, default=REPO_ROOT / "build" / "demo")
    parser.add_argument("--fresh", action="store_true", help="delete the previous demo project first")
    args = parser.parse_args()
    project = bake_project(args.output_dir, fresh=args.fresh)
    print(f"generated {project}")
    results = run_steps(project, STEPS)
    print_summary(f"Demo lifecycle of {project}", results, len(STEPS))
    if all(result.ok for result in results) and len(results) == len(STEPS):
        print(f"\nall {len(STEPS)} steps passed; reports under {project / 'reports'}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
