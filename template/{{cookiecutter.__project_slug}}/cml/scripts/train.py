"""AMP setup: train the candidates, register the best, and gate it (a pass makes it the `challenger`)."""

from cml_mlops.cml.steps import run_steps

run_steps([["train"], ["gate"]])
