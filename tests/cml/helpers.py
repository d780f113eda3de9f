"""Small flows shared by the CML tests."""

from __future__ import annotations

from typing import Any

from cml_mlops.cml import CmlClient
from tests.cml.conftest import PROJECT, RUNTIME


def wait_status(read: Any, done: set[str], limit: int = 20) -> dict[str, Any]:
    """Read until the status is in `done` (with step 0 every read is one step, so no sleeping)."""
    for _ in range(limit):
        obj: dict[str, Any] = read()
        if obj["status"] in done:
            return obj
    raise AssertionError(f"status stuck at {obj['status']!r}")


def built_model(client: CmlClient) -> tuple[dict[str, Any], dict[str, Any]]:
    model = client.create_model({"project_id": PROJECT, "name": "churn"}, PROJECT)
    build = client.create_model_build(
        {"file_path": "predict.py", "function_name": "predict", "runtime_identifier": RUNTIME, "comment": "c1"},
        PROJECT,
        model["id"],
    )
    built = wait_status(lambda: client.get_model_build(PROJECT, model["id"], build["id"]), {"built", "build failed"})
    return model, built
