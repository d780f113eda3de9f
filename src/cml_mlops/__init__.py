"""Runtime library behind the CML MLOps template."""

__version__ = "0.1.0"
