"""Index the app the way the Python worker for 3.13+ (``azure-functions-runtime``) does at
start-up, and print each function's name, bindings and whether it is async, as JSON.

Run as ``python -m tests.support.runtime_index`` from the project root, in a fresh process:
``FunctionApp.get_functions()`` can be called only once per process. The worker receives its
gRPC message classes (``protos``) from the host; only their constructors and enum values are
stood in for here, while the indexing and validation code is the worker's own.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from azure_functions_runtime import loader
from azure_functions_runtime.bindings.meta import (
    load_binding_registry,
)
from azure_functions_runtime.functions import Registry

ROOT = Path(__file__).resolve().parents[2]


class _BindingInfo(SimpleNamespace):
    """``protos.BindingInfo``: direction values as the host's proto defines them."""

    in_ = 0
    out = 1
    inout = 2
    undefined = 0


PROTOS = SimpleNamespace(
    BindingInfo=_BindingInfo,
    RpcFunctionMetadata=SimpleNamespace,
    RpcRetryOptions=SimpleNamespace,
)


def index() -> list[dict[str, Any]]:
    load_binding_registry()
    functions = loader.index_function_app(str(ROOT / "function_app.py"))
    registry = Registry()
    metadata, _ = loader.process_indexed_function(PROTOS, registry, functions, str(ROOT))
    indexed = []
    for entry in metadata:
        info = registry.get_function(entry.function_id)
        indexed.append(
            {
                "name": entry.name,
                "is_async": info.is_async,
                "bindings": sorted(
                    (name, binding.type, str(binding.direction))
                    for name, binding in entry.bindings.items()
                ),
            }
        )
    return indexed


if __name__ == "__main__":
    print(json.dumps(index()))
