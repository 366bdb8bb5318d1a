"""Watching what the app asks of a storage client, without changing what happens."""

from __future__ import annotations

from typing import Any

import pytest


def calls_to(target: Any, names: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of ``target``'s methods among ``names`` as they are called; the calls run."""
    calls: list[str] = []
    for name in names:
        original = getattr(target, name)

        def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(target, name, spy)
    return calls


def first_arguments(target: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The first argument of every call of ``target.<name>`` (a query's filter, a batch)."""
    arguments: list[Any] = []
    original = getattr(target, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        arguments.append(args[0] if args else None)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, spy)
    return arguments
