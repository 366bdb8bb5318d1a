"""Route templates and the route table, as ASP.NET routing matches them for the host."""

from __future__ import annotations

import pytest

from localdev.host.routes import (
    MethodNotAllowed,
    RouteMatch,
    RouteTable,
    RouteTemplate,
    RouteTemplateError,
)


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("orders/{id}", "orders/17", {"id": "17"}),
        ("orders/{id}", "ORDERS/17/", {"id": "17"}),
        ("orders/{id}/{part?}", "orders/17", {"id": "17"}),
        ("orders/{id}/{part?}", "orders/17/lines", {"id": "17", "part": "lines"}),
        ("orders/{id}/{part=summary}", "orders/17", {"id": "17", "part": "summary"}),
        ("files/{*path}", "files/a/b/c", {"path": "a/b/c"}),
        ("files/{**path}", "files", {}),
        ("{name}.{ext}", "report.pdf", {"name": "report", "ext": "pdf"}),
        ("", "", {}),
    ],
)
def test_template_extracts_route_values(template: str, path: str, expected: dict[str, str]) -> None:
    assert RouteTemplate(template).match(path) == expected


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("orders/{id}", "orders"),
        ("orders/{id}", "orders/17/extra"),
        ("orders/{id}", "invoices/17"),
    ],
)
def test_template_rejects_other_shapes(template: str, path: str) -> None:
    assert RouteTemplate(template).match(path) is None


@pytest.mark.parametrize(
    ("constraint", "good", "bad"),
    [
        ("int", "-12", "12a"),
        ("int", "2147483647", "2147483648"),
        ("alpha", "abc", "ab1"),
        ("bool", "True", "yes"),
        ("guid", "6f9619ff-8b86-d011-b42d-00c04fc964ff", "not-a-guid"),
        ("length(2)", "ab", "abc"),
        ("range(1,5)", "5", "6"),
        ("minlength(3)", "abc", "ab"),
        ("regex(^[a-z]+:\\d+$)", "ab:12", "ab-12"),
    ],
)
def test_constraint_enforced(constraint: str, good: str, bad: str) -> None:
    template = RouteTemplate(f"x/{{value:{constraint}}}")
    assert template.match(f"x/{good}") == {"value": good}
    assert template.match(f"x/{bad}") is None


def test_chained_constraints_all_apply() -> None:
    template = RouteTemplate("x/{code:alpha:length(2)}")
    assert template.match("x/ab") == {"code": "ab"}
    assert template.match("x/abc") is None


@pytest.mark.parametrize(
    "template",
    ["x/{id:nosuch}", "{*rest}/x", "{a?}/x", "x/{a}/{a}", "x/{id:int"],
)
def test_invalid_template_is_refused(template: str) -> None:
    with pytest.raises(RouteTemplateError):
        RouteTemplate(template)


def test_literal_route_wins_over_parameter() -> None:
    table: RouteTable[str] = RouteTable()
    table.add("items/{id}", None, "by-id")
    table.add("items/new", None, "new")
    assert table.resolve("items/new", "GET") == RouteMatch("new", {})


def test_constrained_parameter_wins_over_catch_all() -> None:
    table: RouteTable[str] = RouteTable()
    table.add("items/{*rest}", None, "rest")
    table.add("items/{id:int}", None, "by-id")
    assert table.resolve("items/3", "GET") == RouteMatch("by-id", {"id": "3"})


def test_method_mismatch_reports_allowed_methods() -> None:
    table: RouteTable[str] = RouteTable()
    table.add("items", frozenset({"GET"}), "list")
    table.add("items", frozenset({"POST"}), "create")
    assert table.resolve("items", "DELETE") == MethodNotAllowed(frozenset({"GET", "POST"}))


def test_same_route_dispatches_on_method() -> None:
    table: RouteTable[str] = RouteTable()
    table.add("items", frozenset({"GET"}), "list")
    table.add("items", frozenset({"POST"}), "create")
    assert table.resolve("items", "post") == RouteMatch("create", {})


def test_unknown_path_resolves_to_none() -> None:
    table: RouteTable[str] = RouteTable()
    table.add("items", None, "list")
    assert table.resolve("other", "GET") is None
