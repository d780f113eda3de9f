"""CML job `retrain` (cml/jobs.yaml, after newbatch): retrain on the lake with the new batch and gate the result."""

from cml_mlops.cml.steps import run_steps

run_steps([["retrain"]])
