"""`python -m cml_mlops` runs the CLI (same as the `cml-mlops` script)."""

from cml_mlops.cli import main

main()
