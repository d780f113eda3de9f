"""The label metrics that monitoring checks against floors (higher is better) and ceilings (lower is better).

Names only, apart from the code that computes them, so that validating a config does not import that code.
"""

from __future__ import annotations

FLOOR_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
CEILING_METRICS = ("brier", "ece")
