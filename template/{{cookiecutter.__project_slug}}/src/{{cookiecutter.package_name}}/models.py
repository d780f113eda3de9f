"""Candidate models of {{ cookiecutter.project_name }}, next to the library's built-in ones.

Name a factory in cml-mlops.yaml, `training.candidates.<name>.estimator: "{{ cookiecutter.package_name }}.models:<function>"`;
its `grid` sets the estimator's parameters. The library puts its preprocessing in front (median-imputed numbers,
one-hot categories) and sets `random_state` to `training.seed` when the factory leaves it unset. See the README,
"Add a model".
"""

from __future__ import annotations

from sklearn.ensemble import ExtraTreesClassifier


# TODO: add your candidate factories: a function with no arguments returning an unfitted scikit-learn classifier
# with predict_proba.
def extra_trees() -> ExtraTreesClassifier:
    """Extremely randomized trees: a cheap, strong tabular baseline."""
    return ExtraTreesClassifier(n_estimators=200, min_samples_leaf=5, n_jobs=-1)
