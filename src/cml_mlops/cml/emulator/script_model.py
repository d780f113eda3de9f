"""Script-built models in the emulator: the project's model file runs in its own process, as in a CML replica.

A build with `file_path` and `function_name` is served by `python -m cml_mlops.cml.emulator.script_model`,
started in the project folder (CML's /home/cdsw) with the emulator's environment plus the deployment's
`environment`, and its `deployment_secrets` written as files to a private folder named by
CML_MLOPS_DEPLOYMENT_SECRETS_DIR (CML mounts them at /etc/deployment-secrets/). The monitoring DSN of the
emulator's own environment is not passed on: as on CML, a deployment reaches the store only through what it
was deployed with. The process imports the file, finds the function, and answers one JSON line per request
on a pipe: `{"ok": <return>}`, or `{"status": 4xx/500, "errors": [...]}` when the function raises.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from cml_mlops.cml.deployment_env import DSN_ENV, SECRETS_DIR_ENV


class ScriptModelError(Exception):
    """The model process is gone or answered something that is not a result."""


class ScriptModel:
    """One running replica of a script-built model; `call` is serialized (one request at a time, like a replica)."""

    def __init__(
        self, project_dir: Path, file_path: str, function_name: str, environment: dict[str, str],
        secrets: dict[str, str],
    ) -> None:  # fmt: skip
        self._secrets_dir = Path(tempfile.mkdtemp(prefix="cml-emulator-secrets-"))
        for key, value in secrets.items():
            (self._secrets_dir / key).write_text(value, encoding="utf-8")
        env = {key: value for key, value in os.environ.items() if key != DSN_ENV}
        env.update(environment)
        env[SECRETS_DIR_ENV] = str(self._secrets_dir)
        command = [sys.executable, "-m", __name__, str(project_dir / file_path), function_name]
        self._process = subprocess.Popen(
            command, cwd=project_dir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._lock = threading.Lock()

    def call(self, args: Any) -> tuple[int, Any]:
        """(200, the function's return) or (status, errors)."""
        with self._lock:
            stdin, stdout = self._process.stdin, self._process.stdout
            if stdin is None or stdout is None or self._process.poll() is not None:
                raise ScriptModelError(f"the model process exited with code {self._process.returncode}")
            try:
                stdin.write(json.dumps(args) + "\n")
                stdin.flush()
                line = stdout.readline()
            except (OSError, ValueError) as exc:
                raise ScriptModelError(f"the model process is gone: {exc}") from None
        if not line:
            raise ScriptModelError(f"the model process exited with code {self._process.wait()}")
        answer = json.loads(line)
        if "ok" in answer:
            return 200, answer["ok"]
        return int(answer["status"]), answer["errors"]

    def close(self, timeout: float = 30.0) -> None:
        """End the replica as CML does: its input closes, it writes what it holds, exits; killed when stuck."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        shutil.rmtree(self._secrets_dir, ignore_errors=True)


def _load(file: Path, function_name: str) -> Any:
    sys.path.insert(0, str(Path.cwd()))
    spec = importlib.util.spec_from_file_location("cml_model_script", file)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, function_name)


def _answer(function: Any, args: Any) -> dict[str, Any]:
    from cml_mlops.serving.validation import InvalidRequest

    try:
        return {"ok": function(args)}
    except InvalidRequest as exc:
        return {"status": exc.status, "errors": [error.to_dict() for error in exc.errors]}
    except Exception as exc:  # what CML answers for a model function that raises
        return {"status": 500, "errors": [{"message": f"the model failed while scoring: {type(exc).__name__}: {exc}"}]}


def serve(file: Path, function_name: str, requests: IO[str], answers: IO[str]) -> None:
    function = _load(file, function_name)
    for line in requests:
        answers.write(json.dumps(_answer(function, json.loads(line)), default=str) + "\n")
        answers.flush()


def main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # what the model prints goes to the log, not into the answers
    serve(Path(sys.argv[1]), sys.argv[2], sys.stdin, answers)


if __name__ == "__main__":
    main()
