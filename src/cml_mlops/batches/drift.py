"""Controlled drift for synthetic batches: what to change, checked early (the CLI parses its options: batches.command).

Three kinds, applied in this order after the noise:
- shift: add `delta` standard deviations of a numeric column (the table's std) to every row of the batch;
- category mix: give a categorical column's value an exact share of the batch rows (`poutcome=success:0.5`);
- label flips: swap the target label of an exact share of the batch rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cml_mlops.errors import CmlMlopsError


class BatchError(CmlMlopsError):
    """A new batch cannot be made as asked (bad option, unknown column, no table); nothing was written."""


@dataclass(frozen=True)
class Drift:
    """The drift to put into a batch; the empty Drift() means a batch like the table."""

    shift: Mapping[str, float] = field(default_factory=dict)  # column -> delta, in standard deviations
    category_mix: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # column -> value -> share
    flip_labels: float = 0.0  # share of rows whose label is swapped

    def __post_init__(self) -> None:
        for column, delta in self.shift.items():
            if not math.isfinite(delta):
                raise BatchError(f"shift {column}={delta}: the delta must be a finite number of standard deviations")
        for column, shares in self.category_mix.items():
            for value, share in shares.items():
                _check_share(f"category mix {column}={value}:{share}", share)
            if sum(shares.values()) > 1 + 1e-9:
                listed = ", ".join(f"{value}:{share}" for value, share in shares.items())
                raise BatchError(f"category mix of {column} ({listed}): the shares add up to more than 1")
        _check_share(f"flip labels {self.flip_labels}", self.flip_labels)

    @property
    def is_empty(self) -> bool:
        return not self.shift and not self.category_mix and self.flip_labels == 0

    def over(self, base: Drift) -> Drift:
        """This drift on top of `base` (e.g. the config's defaults): per column, and for the flip share, self wins."""
        return Drift(
            shift={**base.shift, **self.shift},
            category_mix={**base.category_mix, **self.category_mix},
            flip_labels=self.flip_labels or base.flip_labels,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "shift": dict(self.shift),
            "category_mix": {column: dict(shares) for column, shares in self.category_mix.items()},
            "flip_labels": self.flip_labels,
        }

    def describe(self) -> str:
        """One line for people, e.g. `shift age=+1.5 std; poutcome=success:0.5; flip 10% of labels`."""
        parts = [f"shift {column}={delta:+g} std" for column, delta in self.shift.items()]
        parts += [
            f"{column}={value}:{share:g}"
            for column, shares in self.category_mix.items()
            for value, share in shares.items()
        ]
        if self.flip_labels:
            parts.append(f"flip {self.flip_labels:.0%} of labels")
        return "; ".join(parts) or "none"


def _check_share(what: str, share: float) -> None:
    if not (isinstance(share, (int, float)) and 0.0 <= share <= 1.0):
        raise BatchError(f"{what}: a share must be between 0 and 1")
