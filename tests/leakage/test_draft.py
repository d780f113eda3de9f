"""`contract draft` proposes LEAKAGE with the screen train and the gate apply."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cml_mlops.contracts.draft import draft_contract, loaded_contract
from tests.conftest import read_bank_csv


def test_the_draft_of_bank_proposes_duration_with_its_auc_and_nothing_else() -> None:
    frame = read_bank_csv("bank.csv")
    source = draft_contract(frame, target="y", positive_label="yes")
    assert '    "duration",  # univariate ROC AUC 0.815\n' in source
    with loaded_contract(source) as module:
        assert module.LEAKAGE == ("duration",)


def test_a_draft_without_a_strong_column_proposes_an_empty_leakage() -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "size": rng.integers(1, 50, 300).astype(str),
            "colour": rng.choice(["red", "blue"], 300),
            "label": rng.choice(["a", "b"], 300),
        }
    )
    source = draft_contract(frame, target="label", positive_label="b")
    assert "LEAKAGE: tuple[str, ...] = ()\n" in source
    with loaded_contract(source) as module:
        assert module.LEAKAGE == ()
