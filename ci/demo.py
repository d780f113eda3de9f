"""The main job: generate the default project under build/demo/ and run every lifecycle step built so far."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from ci.lifecycle import REPO_ROOT, bake_project, cml, print_summary, run_steps

SCORE = [sys.executable, "-m", "ci.score_sample"]


def steps(keep_serving: bool) -> list[tuple[str, list[str]]]:
    planned = [
        ("download", cml("ingest", "--no-progress")),
        ("lake", cml("lake", "load")),
        ("validate", cml("validate")),
        ("eda", cml("eda")),
        ("train", cml("train", "--no-progress")),
        ("gate", cml("gate")),
        ("deploy", cml("deploy", "--target", "local")),
        ("score", SCORE),
    ]
    return planned if keep_serving else [*planned, ("undeploy", cml("undeploy", "--target", "local"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output-dir", type=Path, default=REPO_ROOT / "build" / "demo")
    parser.add_argument("--fresh", action="store_true", help="delete the previous demo project first")
    parser.add_argument("--keep-serving", action="store_true", help="leave the model server running at the end")
    args = parser.parse_args()
    project = bake_project(args.output_dir, fresh=args.fresh)
    print(f"generated {project}")
    env = dict(os.environ)
    # The local server requires an access key; a throw-away one for the demo, never printed.
    env.setdefault("CML_MLOPS_SERVING_ACCESS_KEY", secrets.token_urlsafe(24))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    planned = steps(args.keep_serving)
    results = run_steps(project, planned, env)
    print_summary(f"Demo lifecycle of {project}", results, len(planned))
    if all(result.ok for result in results) and len(results) == len(planned):
        print(f"\nall {len(planned)} steps passed; reports under {project / 'reports'}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
