"""`cml-emulator`: serve the emulated CML API v2 on loopback (for local runs of the CML integration)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from cml_mlops.cml.emulator.model_service import project_loader
from cml_mlops.cml.emulator.server import CmlEmulator
from cml_mlops.cml.emulator.state import EmulatorState, Faults

API_KEY_ENV = "CML_EMULATOR_API_KEY"


def _op_count(values: tuple[str, ...], option: str) -> dict[str, int]:
    parsed: dict[str, int] = {}
    for value in values:
        operation, _, count = value.partition(":")
        if not operation or not count.isdigit():
            raise click.BadParameter(f"expected OPERATION:N, got {value!r}", param_hint=option)
        parsed[operation] = int(count)
    return parsed


def _failing_calls(values: tuple[str, ...], option: str = "--fail-call") -> dict[str, dict[int, int]]:
    parsed: dict[str, dict[int, int]] = {}
    for value in values:
        parts = value.split(":")
        if len(parts) != 3 or not parts[1].isdigit() or parts[2] not in ("500", "502", "503", "504"):
            raise click.BadParameter(f"expected OPERATION:CALL:STATUS (5xx), got {value!r}", param_hint=option)
        parsed.setdefault(parts[0], {})[int(parts[1])] = int(parts[2])
    return parsed


def _dropped_calls(values: tuple[str, ...]) -> dict[str, set[int]]:
    parsed: dict[str, set[int]] = {}
    for value in values:
        operation, _, call = value.partition(":")
        if not operation or not call.isdigit():
            raise click.BadParameter(f"expected OPERATION:CALL, got {value!r}", param_hint="--drop-call")
        parsed.setdefault(operation, set()).add(int(call))
    return parsed


def _slow(values: tuple[str, ...]) -> dict[str, float]:
    parsed: dict[str, float] = {}
    for value in values:
        operation, _, seconds = value.partition(":")
        try:
            parsed[operation or "*"] = float(seconds)
        except ValueError as exc:
            raise click.BadParameter(f"expected OPERATION:SECONDS, got {value!r}", param_hint="--slow") from exc
    return parsed


def build_faults(
    rate_limit: tuple[str, ...],
    retry_after: float,
    fail_call: tuple[str, ...],
    slow: tuple[str, ...],
    fail_builds: int,
    stuck_deployments: int,
    failing_job: tuple[str, ...],
    *,
    drop_call: tuple[str, ...] = (),
    fail_after_apply: tuple[str, ...] = (),
) -> Faults:
    return Faults(
        rate_limited=_op_count(rate_limit, "--rate-limit"),
        retry_after=retry_after,
        failing_calls=_failing_calls(fail_call),
        slow=_slow(slow),
        failing_builds=fail_builds,
        stuck_deployments=stuck_deployments,
        failing_jobs=set(failing_job),
        dropped_calls=_dropped_calls(drop_call),
        failing_after_apply=_failing_calls(fail_after_apply, "--fail-after-apply"),
    )


@click.command("cml-emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=8090, show_default=True, help="0 picks a free port.")
@click.option("--api-key", envvar=API_KEY_ENV, required=True, help=f"Accepted API v2 key (env {API_KEY_ENV}).")
@click.option("--project-id", default="emul-ator-proj-0001", show_default=True, help="Id of the seeded project.")
@click.option("--step-seconds", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Seconds per status step (0: every read advances one step).")  # fmt: skip
@click.option("--rate-limit", multiple=True, metavar="OP:N", help="First N calls of OP answer 429.")
@click.option("--retry-after", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option("--fail-call", multiple=True, metavar="OP:CALL:STATUS", help="Call number CALL of OP answers 5xx.")
@click.option("--slow", multiple=True, metavar="OP:SECONDS", help="Delay answers of OP ('*' for all).")
@click.option("--fail-builds", type=click.IntRange(min=0), default=0, help="The next N builds fail.")
@click.option("--stuck-deployments", type=click.IntRange(min=0), default=0, help="The next N deployments never deploy.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="Serve HTTPS with this certificate.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="Private key of --tls-cert.")
@click.option("--failing-job", multiple=True, metavar="NAME", help="Runs of jobs with this name fail.")
@click.option("--drop-call", multiple=True, metavar="OP:CALL", help="Call CALL of OP: connection closed unanswered.")
@click.option("--fail-after-apply", multiple=True, metavar="OP:CALL:STATUS",
              help="Call number CALL of OP takes effect, then answers 5xx (a lost response).")  # fmt: skip
@click.option("--project-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="cml-mlops project whose MLflow registry the model service loads deployed models from.")  # fmt: skip
@click.option("--profile", default=None, help="Config profile of --project-dir.")
def cml_emulator(
    host: str,
    port: int,
    api_key: str,
    project_id: str,
    step_seconds: float,
    rate_limit: tuple[str, ...],
    retry_after: float,
    fail_call: tuple[str, ...],
    slow: tuple[str, ...],
    fail_builds: int,
    stuck_deployments: int,
    failing_job: tuple[str, ...],
    tls_cert: str | None,
    tls_key: str | None,
    drop_call: tuple[str, ...],
    fail_after_apply: tuple[str, ...],
    project_dir: Path | None,
    profile: str | None,
) -> None:
    """Serve an emulated Cloudera ML API v2 workspace (and its model service) until interrupted."""
    faults = build_faults(
        rate_limit, retry_after, fail_call, slow, fail_builds, stuck_deployments, failing_job,
        drop_call=drop_call, fail_after_apply=fail_after_apply,
    )  # fmt: skip
    state = EmulatorState(step_seconds=step_seconds, faults=faults, project_id=project_id)
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    tls = (tls_cert, tls_key) if tls_cert and tls_key else None
    loader = project_loader(project_dir, profile) if project_dir is not None else None
    emulator = CmlEmulator(state, api_key=api_key, host=host, port=port, tls=tls, model_loader=loader)

    def announce(url: str) -> None:
        click.echo(f"CML API v2 emulator on {url} (project {project_id}); Ctrl-C stops it", err=True)

    with contextlib.suppress(KeyboardInterrupt):
        emulator.serve_forever(on_ready=announce)


if __name__ == "__main__":
    cml_emulator()
