"""`cml-mlops contract draft`: write a starting contract for a new tabular data set from a sample CSV."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import click

from cml_mlops.cli_support import CleanErrorsGroup, CliState, pass_config
from cml_mlops.config import ProjectConfig, find_project_root
from cml_mlops.contracts.draft import draft_from_csv, loaded_contract
from cml_mlops.contracts.examples import END, START, contract_model, render_examples, write_examples
from cml_mlops.errors import ConfigError
from cml_mlops.project import load_feature_spec, load_project_module


@dataclass(frozen=True)
class DraftDefaults:
    """What a project already says about its data; all None outside a project."""

    target: str | None = None
    positive_label: str | None = None
    separator: str | None = None
    encoding: str | None = None


@click.group(cls=CleanErrorsGroup)
def contract() -> None:
    """Data contracts of the use case."""


@contract.command("draft")
@click.argument("csv_path", metavar="CSV", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--target", default=None, help="Target column (default: TARGET of the project's contract).")
@click.option("--positive-label", default=None, help="Positive target value (default: POSITIVE_LABEL of the project).")
@click.option("--separator", default=None, help="CSV field separator (default: data.separator, else ',').")
@click.option("--encoding", default=None, help="CSV encoding (default: data.encoding, else utf-8).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Contract module to write, e.g. src/<package>/contracts.py (default: print it).",
)
@click.option("--force", is_flag=True, help="Overwrite --output if it exists.")
@click.option(
    "--max-categories",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Text columns with at most this many distinct values become categories.",
)
def draft(
    csv_path: Path,
    target: str | None,
    positive_label: str | None,
    separator: str | None,
    encoding: str | None,
    output: Path | None,
    force: bool,
    max_categories: int,
) -> None:
    """Draft a contract module from a sample CSV: column types, categories, ranges and the target.

    The draft accepts the sample it was made from; review every rule before you rely on it.
    """
    if output is not None and output.exists() and not force:
        raise click.ClickException(f"{output} exists; pass --force to overwrite it")
    defaults = DraftDefaults() if target and positive_label and separator else project_defaults()
    target = target or defaults.target
    positive_label = positive_label or defaults.positive_label
    if not target or not positive_label:
        raise click.UsageError(
            "pass --target and --positive-label (outside a project there is no contract to take them from)"
        )
    source = draft_from_csv(
        csv_path,
        separator=separator or defaults.separator or ",",
        target=target,
        positive_label=positive_label,
        output=output,
        encoding=encoding or defaults.encoding or "utf-8",
        max_categories=max_categories,
    )
    if output is None:
        click.echo(source, nl=False)
    else:
        click.echo(f"wrote {output}: review every rule, then bump CONTRACT_VERSION when you change one")
        _refresh_readme(output, source)


@contract.command("examples")
@click.option("--write", is_flag=True, help="Rewrite the examples block of the project's README.md.")
@pass_config
def examples(config: ProjectConfig, write: bool) -> None:
    """The README's usage examples (curl, example row, a drifted newbatch), rendered from the project's contract."""
    model, target = contract_model(load_project_module(config, "contracts"))
    try:
        inputs: tuple[str, ...] | None = load_feature_spec(config).inputs(
            use_leakage_columns=config.features.use_leakage_columns
        )
    except ConfigError:
        inputs = None  # no usable FEATURES yet: every column of the contract
    block = render_examples(model, target, inputs=inputs, port=config.serving.port)
    if not write:
        click.echo(block)
        return
    readme = config.root / "README.md"
    if not readme.is_file() or not write_examples(readme, block):
        raise ConfigError(f"{readme} has no examples block ({START.split(' (')[0]} ... {END}) to rewrite")
    click.echo(f"wrote the examples of {readme.name} from {config.project.package}.contracts")


def _refresh_readme(output: Path, source: str) -> None:
    """A draft written to the project's contract module: its README's examples follow the new contract."""
    state = click.get_current_context().find_object(CliState) or CliState()
    try:
        config = state.config()
    except ConfigError:
        return  # outside a project
    readme = config.root / "README.md"
    if output.resolve() != contract_module_path(config).resolve() or not readme.is_file():
        return
    with loaded_contract(source) as module:
        model, target = contract_model(module)
        block = render_examples(model, target, port=config.serving.port)
    if write_examples(readme, block):
        click.echo(f"updated the examples of {readme.name} from the drafted contract")


def project_defaults() -> DraftDefaults:
    """Separator and encoding from the config, target and positive label from the project's contract module."""
    state = click.get_current_context().find_object(CliState) or CliState()
    if state.project_dir is None:  # searching from the working folder: not being in a project is fine
        try:
            find_project_root()
        except ConfigError:
            return DraftDefaults()
    config = state.config()
    constants = contract_constants(contract_module_path(config))
    return DraftDefaults(
        target=constants.get("TARGET"),
        positive_label=constants.get("POSITIVE_LABEL"),
        separator=config.data.separator,
        encoding=config.data.encoding,
    )


def contract_module_path(config: ProjectConfig) -> Path:
    return config.path("src") / config.project.package / "contracts.py"


def contract_constants(path: Path) -> dict[str, str]:
    """Top-level string constants of a contract module, read without importing (it may be half-edited)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return {}
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for name in node.targets:
                if isinstance(name, ast.Name):
                    constants[name.id] = node.value.value
    return constants
