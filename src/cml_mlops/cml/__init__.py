"""Cloudera ML API v2: an HTTP client with `cmlapi` method names, and a local emulator for tests."""

from cml_mlops.cml.client import CmlClient
from cml_mlops.cml.errors import CmlApiError

__all__ = ["CmlApiError", "CmlClient"]
