"""The config profiles and the variable that picks one: constants that the CLI's root group needs at start-up.

They live apart from cml_mlops.config so that `cml-mlops --help` does not import the config's validation.
"""

from __future__ import annotations

PROFILES = ("local", "ci", "prod")
"""Profiles a cml-mlops.yaml may define; `local` is the default."""

PROFILE_ENV = "CML_MLOPS_PROFILE"
