"""CML job `newbatch` (cml/jobs.yaml): a new batch of data lands in the lake."""

from cml_mlops.cml.steps import run_steps

run_steps([["newbatch"]])
