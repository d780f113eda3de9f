"""CML job `monitor` (cml/jobs.yaml, on its own schedule): drift and performance of the served model."""

from cml_mlops.cml.steps import run_steps

run_steps([["monitor"]])
