"""Step 05: synthetic new batches (bootstrap plus noise, optional drift), contract-checked, appended to the lake."""

from cml_mlops.batches.append import BatchResult, add_batch
from cml_mlops.batches.drift import BatchError, Drift
from cml_mlops.batches.generator import BatchSpec, generate_batch

__all__ = ["BatchError", "BatchResult", "BatchSpec", "Drift", "add_batch", "generate_batch"]
