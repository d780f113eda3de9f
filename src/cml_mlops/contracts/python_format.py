"""Format generated Python with the project's own ruff settings, so its lint passes right after generation."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

from cml_mlops.errors import DataFormatError

log = logging.getLogger(__name__)
_TIMEOUT_SECONDS = 60


def find_ruff() -> str | None:
    """The ruff executable: beside this interpreter (a venv), on PATH, or from the ruff package; else None."""
    beside = Path(sys.executable).with_name("ruff")
    if beside.is_file():
        return str(beside)
    on_path = shutil.which("ruff")
    if on_path:
        return on_path
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        return str(find_ruff_bin())
    except FileNotFoundError:
        return None


def ruff_format(source: str, path: Path) -> tuple[str, bool]:
    """`source` fixed and formatted by ruff as if it were the file `path` (its project's settings apply).

    Returns the source and whether ruff ran. Without ruff the source comes back as it is: the drafter already
    writes the template's default layout, so only projects with other ruff settings see a difference.
    """
    ruff = find_ruff()
    if ruff is None:
        log.warning("ruff is not installed: %s keeps the drafter's own layout; run `ruff format` on it", path)
        return source, False
    folder = _existing_parent(Path(path).resolve())
    stdin = ["--stdin-filename", str(path), "-"]
    fixed = _run([ruff, "check", "--fix", "--exit-zero", "--quiet", *stdin], source, folder)
    return _run([ruff, "format", "--quiet", *stdin], fixed, folder), True


def _run(command: list[str], source: str, folder: Path) -> str:
    result = subprocess.run(
        command, input=source, capture_output=True, text=True, cwd=folder, timeout=_TIMEOUT_SECONDS, check=False
    )
    if result.returncode != 0:
        detail = " ".join(result.stderr.split())[:300]
        raise DataFormatError(f"ruff could not format the generated code ({' '.join(command[1:3])}): {detail}")
    return result.stdout


def _existing_parent(path: Path) -> Path:
    for folder in path.parents:
        if folder.is_dir():
            return folder
    return Path.cwd()
