"""Benchmarks run by `nox -s bench`: each measures a target against a named baseline in the same run."""
