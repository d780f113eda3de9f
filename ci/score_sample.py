"""Score rows of the project's lake table over HTTP on the deployed local model server (a demo step).

The access key is read from CML_MLOPS_SERVING_ACCESS_KEY and never printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

from cml_mlops.config import load_config
from cml_mlops.lake import open_lake
from cml_mlops.project import load_feature_spec
from cml_mlops.serving.process import access_key, read_record


def post(url: str, payload: dict, key: str | None) -> dict:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project-dir", type=Path, default=Path.cwd())
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    config = load_config(args.project_dir)
    record = read_record(config)
    if record is None:
        print("no model server is deployed: run `cml-mlops deploy --target local`", file=sys.stderr)
        return 1
    spec = load_feature_spec(config)
    with open_lake(config) as lake:
        rows = lake.read(config.lake.table).tail(args.rows)
    inputs = list(spec.inputs())
    key = access_key(config)
    started = time.perf_counter()
    batch = post(f"{record.url}/invocations", {"dataframe_split": rows[inputs].to_dict(orient="split")}, key)
    batch_seconds = time.perf_counter() - started
    predictions = batch["predictions"]
    latencies = []
    for row in rows[inputs].head(50).to_dict(orient="records"):
        started = time.perf_counter()
        post(f"{record.url}/model", {"request": row}, key)
        latencies.append((time.perf_counter() - started) * 1000)
    positives = sum(p["label"] == spec.positive_label for p in predictions)
    print(
        f"scored {len(predictions)} rows in one batch ({batch_seconds:.2f} s) with model version "
        f"{predictions[0]['model_version']}: {positives} predicted {spec.positive_label!r}; "
        f"single-row p50 {statistics.median(latencies):.1f} ms over {len(latencies)} requests"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
