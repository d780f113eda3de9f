"""The `prediction_log` and `simulation` sections: the template writes the defaults out; bad values are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cml_mlops.config import PredictionLogSection, SimulationSection, load_config
from cml_mlops.errors import ConfigError
from cml_mlops.simulation.runner import SimulationOptions


def test_the_template_writes_out_the_defaults(baked_project: Path) -> None:
    config = load_config(baked_project, environ={})
    assert config.prediction_log == PredictionLogSection()
    assert config.simulation == SimulationSection()


def test_options_come_from_the_config_then_the_command_line(baked_project: Path) -> None:
    environ = {"CML_MLOPS_SIMULATION_ROWS": "250", "CML_MLOPS_SIMULATION_SCENARIO": "drift-replay",
               "CML_MLOPS_LIFECYCLE_TARGET": "cml"}  # fmt: skip
    config = load_config(baked_project, environ=environ)
    options = SimulationOptions.from_config(config, label_share=0.0, rows=None)
    assert (options.rows, options.scenario, options.target) == (250, "drift-replay", "cml")
    assert options.label_share == 0.0  # given on the command line; None (not given) keeps the config's value
    assert options.concurrency == config.simulation.concurrency


@pytest.mark.parametrize(
    "section, override, message",
    [
        ("simulation", {"scenario": "chaos"}, "simulation.scenario"),
        ("simulation", {"label_share": 1.5}, "simulation.label_share"),
        ("simulation", {"rows": 0}, "simulation.rows"),
        ("simulation", {"records_per_request": 0}, "simulation.records_per_request"),
        ("simulation", {"interval_seconds": 0}, "simulation.interval_seconds"),
        ("prediction_log", {"batch_size": 0}, "prediction_log.batch_size"),
        ("prediction_log", {"retry_max_seconds": -1}, "prediction_log.retry_max_seconds"),
        ("prediction_log", {"spill": "x"}, "prediction_log.spill"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(
    project_dir: Path, section: str, override: dict[str, object], message: str
) -> None:
    path = project_dir / "cml-mlops.yaml"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    content.setdefault(section, {}).update(override)
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(project_dir, environ={})
    assert message in str(caught.value)
