"""ASP.NET Core route templates, the syntax the Functions host uses for HTTP triggers.

Supported: literals (case-insensitive), `{name}`, optional `{name?}`, defaults
`{name=value}`, catch-all `{*name}` / `{**name}`, and inline constraints such as
`{id:int}`, `{code:alpha:length(2)}` or `{x:regex(^a+$)}`. A value failing its constraint
means the route does not match, which is what turns into a 404.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Check = Callable[[str], bool]
T = TypeVar("T")


class RouteTemplateError(ValueError):
    """A route template the real host would reject at start-up."""


def _is_int(value: str, low: int, high: int) -> bool:
    try:
        number = int(value)
    except ValueError:
        return False
    return low <= number <= high


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_SIMPLE_CONSTRAINTS: dict[str, Check] = {
    "int": lambda v: _is_int(v, -(2**31), 2**31 - 1),
    "long": lambda v: _is_int(v, -(2**63), 2**63 - 1),
    "alpha": lambda v: v.isascii() and v.isalpha(),
    "bool": lambda v: v.lower() in ("true", "false"),
    "guid": _is_guid,
    "datetime": _is_datetime,
    "decimal": _is_float,
    "double": _is_float,
    "float": _is_float,
    "required": lambda v: v != "",
    "nonfile": lambda v: "." not in v.rsplit("/", 1)[-1],
    "file": lambda v: "." in v.rsplit("/", 1)[-1],
}


def _numbers(args: str) -> list[int]:
    try:
        return [int(part) for part in args.split(",")]
    except ValueError as exc:
        raise RouteTemplateError(f"constraint arguments must be integers: {args!r}") from exc


def _constraint(text: str) -> Check:
    name, _, rest = text.partition("(")
    key = name.strip().lower()
    if not rest:
        if key not in _SIMPLE_CONSTRAINTS:
            raise RouteTemplateError(f"unknown route constraint {text!r}")
        return _SIMPLE_CONSTRAINTS[key]
    if not rest.endswith(")"):
        raise RouteTemplateError(f"unbalanced parentheses in constraint {text!r}")
    args = rest[:-1]
    if key == "regex":
        pattern = re.compile(args, re.IGNORECASE)
        return lambda v: pattern.search(v) is not None
    numbers = _numbers(args)
    checks: dict[str, Callable[[list[int]], Check]] = {
        "minlength": lambda n: lambda v: len(v) >= n[0],
        "maxlength": lambda n: lambda v: len(v) <= n[0],
        "length": lambda n: (
            (lambda v: len(v) == n[0]) if len(n) == 1 else (lambda v: n[0] <= len(v) <= n[1])
        ),
        "min": lambda n: lambda v: _is_int(v, n[0], 2**63),
        "max": lambda n: lambda v: _is_int(v, -(2**63), n[0]),
        "range": lambda n: lambda v: len(n) == 2 and _is_int(v, n[0], n[1]),
    }
    if key not in checks:
        raise RouteTemplateError(f"unknown route constraint {text!r}")
    return checks[key](numbers)


def _split_constraints(body: str) -> list[str]:
    """Split `name:c1:c2(...)` on colons outside parentheses (regexes may contain colons)."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in body:
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    parts.append(current)
    return parts


@dataclass(frozen=True)
class Parameter:
    name: str
    optional: bool = False
    catch_all: bool = False
    default: str | None = None
    checks: tuple[Check, ...] = ()


_PARAM = re.compile(r"\{([^{}]+)\}")


def _parse_parameter(body: str) -> Parameter:
    catch_all = body.startswith("*")
    body = body.lstrip("*")
    head, *constraint_texts = _split_constraints(body)
    default: str | None = None
    if "=" in head:
        head, default = head.split("=", 1)
    optional = head.endswith("?")
    name = head.rstrip("?").strip()
    if not name:
        raise RouteTemplateError(f"route parameter without a name: {{{body}}}")
    for text in constraint_texts:
        if text.endswith("?"):
            optional = True
            text = text[:-1]
    checks = tuple(_constraint(text) for text in constraint_texts if text)
    return Parameter(name, optional or catch_all, catch_all, default, checks)


# Lower sorts first: ASP.NET tries literals before parameters before catch-alls.
_LITERAL, _COMPLEX, _CONSTRAINED, _PLAIN, _CATCH_ALL = range(1, 6)


@dataclass
class RouteTemplate:
    template: str
    regex: re.Pattern[str] = field(init=False)
    parameters: dict[str, Parameter] = field(init=False, default_factory=dict)
    precedence: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        segments = [s for s in self.template.strip("/").split("/") if s != ""]
        pattern = ""
        precedence: list[int] = []
        groups: dict[str, Parameter] = {}
        for index, segment in enumerate(segments):
            is_last = index == len(segments) - 1
            segment_regex, rank = self._segment(segment, is_last, groups)
            precedence.append(rank)
            pattern += segment_regex
        self.regex = re.compile(f"^{pattern}/?$", re.IGNORECASE | re.DOTALL)
        self.parameters = groups
        self.precedence = tuple(precedence)

    def _segment(
        self, segment: str, is_last: bool, groups: dict[str, Parameter]
    ) -> tuple[str, int]:
        pieces = _PARAM.split(segment)
        literal_parts = pieces[0::2]
        param_bodies = pieces[1::2]
        if not param_bodies:
            if "{" in segment or "}" in segment:
                raise RouteTemplateError(f"malformed segment {segment!r} in {self.template!r}")
            return "/" + re.escape(segment), _LITERAL
        params = [_parse_parameter(body) for body in param_bodies]
        for param in params:
            if param.name in (g.name for g in groups.values()):
                raise RouteTemplateError(f"parameter {param.name!r} repeated in {self.template!r}")
            if param.catch_all and not is_last:
                raise RouteTemplateError(f"catch-all must be the last segment: {self.template!r}")
        whole_segment = len(params) == 1 and literal_parts == ["", ""]
        body = ""
        for literal, maybe in zip(literal_parts, [*params, None], strict=True):
            body += re.escape(literal)
            if maybe is None:
                continue
            group = f"p{len(groups)}"
            groups[group] = maybe
            body += f"(?P<{group}>.*)" if maybe.catch_all else f"(?P<{group}>[^/]+?)"
        if whole_segment:
            param = params[0]
            if param.catch_all:
                return f"(?:/{body})?", _CATCH_ALL
            if param.optional or param.default is not None:
                if not is_last:
                    raise RouteTemplateError(
                        f"only the last segment may be optional: {self.template!r}"
                    )
                return f"(?:/{body})?", _PLAIN
            return "/" + body, _CONSTRAINED if param.checks else _PLAIN
        return "/" + body, _COMPLEX

    def match(self, path: str) -> dict[str, str] | None:
        """Route values for a path relative to the route prefix, or None if no match."""
        found = self.regex.match("/" + path.strip("/") if path.strip("/") else "")
        if found is None:
            return None
        values: dict[str, str] = {}
        for group, param in self.parameters.items():
            value = found[group]
            if value is None or value == "":
                if param.default is not None:
                    values[param.name] = param.default
                elif not param.optional:
                    return None
                continue
            if not all(check(value) for check in param.checks):
                return None
            values[param.name] = value
        return values


@dataclass(frozen=True)
class Route(Generic[T]):
    template: RouteTemplate
    methods: frozenset[str] | None  # None: every method
    target: T


@dataclass(frozen=True)
class RouteMatch(Generic[T]):
    target: T
    route_params: dict[str, str]


@dataclass(frozen=True)
class MethodNotAllowed:
    allowed: frozenset[str]


class RouteTable(Generic[T]):
    """Routes tried most specific first, like ASP.NET endpoint routing."""

    def __init__(self) -> None:
        self._routes: list[Route[T]] = []

    def add(self, template: str, methods: frozenset[str] | None, target: T) -> None:
        self._routes.append(Route(RouteTemplate(template), methods, target))
        self._routes.sort(key=lambda r: (r.template.precedence, r.template.template))

    def resolve(self, path: str, method: str) -> RouteMatch[T] | MethodNotAllowed | None:
        allowed: set[str] = set()
        for route in self._routes:
            values = route.template.match(path)
            if values is None:
                continue
            if route.methods is None or method.upper() in route.methods:
                return RouteMatch(route.target, values)
            allowed |= route.methods
        return MethodNotAllowed(frozenset(allowed)) if allowed else None
