"""The app's functions by name. ``FunctionApp.get_functions()`` may be called only once per
process (it registers the names it returns), so every test reads it through here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from azure.functions.decorators.function_app import Function

import function_app


@cache
def functions() -> dict[str, Function]:
    found: dict[str, Function] = {}
    for function in function_app.app.get_functions():
        name = function.get_function_name()
        assert name is not None
        found[name] = function
    return found


def user_function(name: str) -> Callable[..., Awaitable[Any]]:
    user: Callable[..., Awaitable[Any]] = functions()[name].get_user_function()
    return user
