"""Runtime library behind the CML MLOps template, and its public Python API.

    import cml_mlops
    config = cml_mlops.load_config()
    result = cml_mlops.train(config)

The lifecycle steps (see cml_mlops.api) are loaded on first use (PEP 562), so `import cml_mlops` imports no
heavy library and the CLI starts fast.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from cml_mlops.api import (
        deploy,
        gate,
        ingest,
        load,
        load_config,
        monitor,
        new_batch,
        profile,
        report,
        score,
        simulate,
        train,
        validate,
    )

__all__ = [
    "__version__",
    "deploy",
    "gate",
    "ingest",
    "load",
    "load_config",
    "monitor",
    "new_batch",
    "profile",
    "report",
    "score",
    "simulate",
    "train",
    "validate",
]
_API = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    if name in _API:
        from cml_mlops import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """`cml_mlops.ingest` and `cml_mlops.deploy` name both a step and a subpackage: the step wins.

    Importing a subpackage sets it as an attribute of its parent; here that is skipped for the step names, so
    `cml_mlops.deploy(...)` stays the function while `cml_mlops.deploy.base` imports as usual (sys.modules).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
