"""AMP setup, last task: create the lifecycle jobs of cml/jobs.yaml in this CML project (idempotent)."""

from cml_mlops.cml.steps import run_steps

run_steps([["cml", "sync-jobs"]])
