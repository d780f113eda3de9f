"""Traffic simulation (`cml-mlops simulate`): real rows to the deployed endpoint, every prediction logged."""

from cml_mlops.simulation.errors import SimulationError
from cml_mlops.simulation.runner import SimulationOptions, SimulationSummary, run_simulation
from cml_mlops.simulation.scenarios import SCENARIOS, ScenarioRows, scenario_rows

__all__ = [
    "SCENARIOS",
    "ScenarioRows",
    "SimulationError",
    "SimulationOptions",
    "SimulationSummary",
    "run_simulation",
    "scenario_rows",
]
