"""CML job `redeploy` (cml/jobs.yaml, after retrain): serve the version that passed the gate as the CML model."""

from cml_mlops.cml.steps import run_steps

run_steps([["deploy", "--target", "cml"]])
