"""AMP setup: download the data set, load it into the Iceberg lake under its contract, validate the table."""

from cml_mlops.cml.steps import run_steps

run_steps([["ingest"], ["lake", "load"], ["validate"]])
