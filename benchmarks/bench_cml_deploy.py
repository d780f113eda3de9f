"""Client overhead of a CML redeploy against the emulator with zero artificial delays (issue 4).

The measured flow is the full one: register the new version -> build -> deploy -> smoke test -> stop the old
deployment, as `CmlTarget.deploy` runs it over HTTP, with status steps of 0 s and a poll interval of 0 s, so
that what is left is our code, the HTTP round trips and the emulator. Each repetition starts a fresh emulator
and deploys version 1 first (untimed); the models are loaded once (the emulator's model loader caches them).

Targets: under 1 s, and no more requests than the flow needs. That minimum, for a redeploy over one serving
version (the emulator moves a status one step per read):
- 5 lookups that make re-runs idempotent: list registered models, the registered model's versions, list models,
  list the model's builds, list the deployments of the one built build;
- 3 creates: registry version, build, deployment;
- 5 status reads: a build goes queued -> pending -> pushing -> built (3 reads), a deployment
  pending -> deploying -> deployed (2 reads);
- 1 model call (the smoke test) and 1 stop of the old deployment.
= 15 requests. Baseline: the same number of bare HTTP GETs to the emulator, on one keep-alive connection.
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import time
from pathlib import Path

import requests

from benchmarks.harness import BenchResult, timed_runs
from benchmarks.project import loaded_config
from cml_mlops.cml import CmlClient
from cml_mlops.cml.emulator import CmlEmulator, EmulatorState
from cml_mlops.cml.emulator.model_service import ScorerLoader, config_loader
from cml_mlops.config import ProjectConfig
from cml_mlops.deploy.cml import CmlTarget
from cml_mlops.deploy.smoke import smoke_record
from cml_mlops.lake import open_lake
from cml_mlops.project import load_feature_spec
from cml_mlops.registry import set_gate_record
from tests.support.models import register_test_model

PROJECT = "bench-proj-0000-0001"
RUNTIME = "docker.repository.cloudera.com/cloudera/cdsw/ml-runtime-pbj-workbench-python3.10-standard:2025.06.1-b5"
MINIMUM_REQUESTS = 5 + 3 + 3 + 2 + 1 + 1
REPEAT = 7


def _config(scratch: Path, key: str, url: str = "http://127.0.0.1:1") -> ProjectConfig:
    return loaded_config(
        scratch,
        CDSW_APIV2_KEY=key,
        CML_MLOPS_CML_WORKSPACE_URL=url,
        CML_MLOPS_CML_PROJECT_ID=PROJECT,
        CML_MLOPS_CML_RUNTIME_IDENTIFIER=RUNTIME,
        CML_MLOPS_CML_POLL_INTERVAL_SECONDS="0",
        CML_MLOPS_CML_POLL_MAX_INTERVAL_SECONDS="0",
    )


def _gated_versions(config: ProjectConfig) -> tuple[str, str]:
    with open_lake(config) as lake:
        frame = lake.read(config.lake.table)
    spec = load_feature_spec(config)
    versions = []
    for seed in (0, 1):
        version = register_test_model(config, frame, spec, seed=seed)
        set_gate_record(config, version.version, True, "benchmark: gate not under test")
        versions.append(str(version.version))
    return versions[0], versions[1]


def _redeploy(config: ProjectConfig, key: str, loader: ScorerLoader, v1: str, v2: str) -> dict[str, float]:
    """One fresh emulator: deploy v1 (untimed), then the timed redeploy of v2; its time and requests."""
    state = EmulatorState(step_seconds=0, project_id=PROJECT)
    with CmlEmulator(state, api_key=key, model_loader=loader) as emulator:
        run_config = config.model_copy(update={"cml": config.cml.model_copy(update={"workspace_url": emulator.url})})
        client = CmlClient(emulator.url, key, project_id=PROJECT, environ={})
        target = CmlTarget(run_config, api=client, environ={})
        target.deploy(v1)
        before = len(emulator.requests)
        started = time.perf_counter()
        target.deploy(v2)
        seconds = time.perf_counter() - started
        flow = emulator.requests[before:]
        client.close()
    return {
        "seconds": seconds,
        "requests": len(flow),
        "api_requests": sum(r.operation != "call_model" for r in flow),
        "model_calls": sum(r.operation == "call_model" for r in flow),
    }


def _bare_gets(key: str, count: int) -> float:
    with CmlEmulator(EmulatorState(step_seconds=0, project_id=PROJECT), api_key=key) as emulator:
        session = requests.Session()
        url, headers = f"{emulator.url}/api/v2/projects/{PROJECT}", {"authorization": f"Bearer {key}"}
        session.get(url, headers=headers, timeout=10).raise_for_status()  # connect first, as the client does
        times = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            for _ in range(count):
                session.get(url, headers=headers, timeout=10).raise_for_status()
            times.append(time.perf_counter() - started)
        session.close()
    return statistics.median(times)


def run() -> list[BenchResult]:
    scratch = Path(tempfile.mkdtemp(prefix="bench-cml-"))
    key = secrets.token_urlsafe(24)
    config = _config(scratch, key)
    v1, v2 = _gated_versions(config)
    loader = config_loader(config)
    _redeploy(config, key, loader, v1, v2)  # warm-up: imports, model loads, contract compilation
    runs = [_redeploy(config, key, loader, v1, v2) for _ in range(REPEAT)]
    seconds = statistics.median(r["seconds"] for r in runs)
    requests_made = max(int(r["requests"]) for r in runs)
    baseline = _bare_gets(key, MINIMUM_REQUESTS)
    target = CmlTarget(config, environ={})
    local = statistics.median(
        timed_runs(lambda: (target.source(v2), smoke_record(config, v2)), repeat=REPEAT)
    )  # what the deploy reads from MLflow and the contract before its first request
    details = {
        "flow": "redeploy: register -> build -> deploy -> smoke test -> stop the old deployment",
        "runs": runs,
        "minimum_requests": MINIMUM_REQUESTS,
        "minimum_derivation": "5 lookups + 3 creates + 3 build reads + 2 deployment reads + 1 model call + 1 stop",
        "of_which_mlflow_and_contract_seconds": local,
        "step_seconds": 0,
        "poll_interval_seconds": 0,
    }
    return [
        BenchResult(
            "cml_redeploy_wall_time", seconds, "s", f"{MINIMUM_REQUESTS} bare HTTP GETs to the emulator", baseline,
            "< 1 s", seconds < 1.0, details,
        ),
        BenchResult(
            "cml_redeploy_requests", float(requests_made), "req", "requests the flow needs", float(MINIMUM_REQUESTS),
            f"<= {MINIMUM_REQUESTS} requests", requests_made <= MINIMUM_REQUESTS, details,
        ),
    ]  # fmt: skip
