"""A local, faithful-enough emulator of the Cloudera ML API v2 subset the client uses (for tests and demos)."""

from cml_mlops.cml.emulator.server import CmlEmulator, LoggedRequest
from cml_mlops.cml.emulator.state import ApiFault, EmulatorState, Faults

__all__ = ["ApiFault", "CmlEmulator", "EmulatorState", "Faults", "LoggedRequest"]
