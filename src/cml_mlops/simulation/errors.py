"""Errors of the traffic simulation."""

from __future__ import annotations

from cml_mlops.errors import CmlMlopsError


class SimulationError(CmlMlopsError):
    """The simulation cannot run as asked (nothing deployed, no rows to send, requests failing)."""
