"""Bake the template for every choice in cookiecutter.json under build/bake/ and run each project's own tests."""

from __future__ import annotations

import os
import subprocess
import sys

from ci.lifecycle import REPO_ROOT, bake_project, choice_matrix


def main() -> int:
    failures = 0
    for options in choice_matrix():
        label = "-".join(f"{k}-{v}" for k, v in options.items())
        project = bake_project(REPO_ROOT / "build" / "bake" / label, fresh=True, **options)
        # As a user runs them right after generation: pytest's config finds src/, the library is this checkout.
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        result = subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=project, env=env, check=False)
        print(f"{label}: {'ok' if result.returncode == 0 else 'FAILED'} ({project})")
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
