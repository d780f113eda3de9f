"""Score rows of the project's lake table over HTTP on the deployed model (a demo step).

`--target local` (default) calls the local model server, with the access key from CML_MLOPS_SERVING_ACCESS_KEY;
`--target cml` calls the CML model service of the project's CML model, with the API key from CDSW_APIV2_KEY.
Keys are never printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cml_mlops.config import ProjectConfig, load_config
from cml_mlops.lake import open_lake
from cml_mlops.project import load_feature_spec
from cml_mlops.serving.process import access_key, read_record

Score = Callable[[dict[str, Any]], Any]  # request -> the model's response


def post(url: str, payload: dict, key: str | None) -> dict:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def local_endpoint(config: ProjectConfig) -> Score | None:
    record = read_record(config)
    if record is None:
        return None
    key = access_key(config)
    return lambda request: post(f"{record.url}/model", {"request": request}, key)["response"]


def cml_endpoint(config: ProjectConfig) -> Score:
    from cml_mlops.deploy.cml import CmlTarget

    client = CmlTarget(config).model_client()
    return lambda request: client.call(request).prediction


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project-dir", type=Path, default=Path.cwd())
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--target", choices=("local", "cml"), default="local")
    args = parser.parse_args()
    config = load_config(args.project_dir)
    score = cml_endpoint(config) if args.target == "cml" else local_endpoint(config)
    if score is None:
        print(f"no model is deployed: run `cml-mlops deploy --target {args.target}`", file=sys.stderr)
        return 1
    spec = load_feature_spec(config)
    with open_lake(config) as lake:
        rows = lake.read(config.lake.table).tail(args.rows)
    inputs = list(spec.inputs())
    started = time.perf_counter()
    batch = score({"dataframe_split": rows[inputs].to_dict(orient="split")})
    batch_seconds = time.perf_counter() - started
    predictions = batch["predictions"]
    latencies = []
    for row in rows[inputs].head(50).to_dict(orient="records"):
        started = time.perf_counter()
        score(row)
        latencies.append((time.perf_counter() - started) * 1000)
    positives = sum(p["label"] == spec.positive_label for p in predictions)
    print(
        f"scored {len(predictions)} rows in one batch ({batch_seconds:.2f} s) on {args.target} with model version "
        f"{predictions[0]['model_version']}: {positives} predicted {spec.positive_label!r}; "
        f"single-row p50 {statistics.median(latencies):.1f} ms over {len(latencies)} requests"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
