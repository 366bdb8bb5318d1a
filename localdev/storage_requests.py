"""Names each Azure Storage REST request by service, table or queue, and operation.

The counting proxy in front of Azurite uses these to tell what an app costs in storage
transactions (what Azure bills and throttles), without the app counting anything itself.
Paths are path-style, as Azurite serves them: ``/<account>/<table or queue>...``.
In front of anything else (the Twilio simulator), requests are named by method and path end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

_TABLE_WRITES = {"PUT": ("update", "upsert"), "PATCH": ("merge", "upsert-merge")}
_TABLE_WRITES["MERGE"] = _TABLE_WRITES["PATCH"]


def _segments(path: str) -> list[str]:
    """The path after the account name."""
    return [part for part in path.split("/") if part][1:]


def classify_table_request(
    method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> str:
    """``table <name> <operation>``; operations as the Table service documents them."""
    rest = _segments(path)
    if not rest:
        return f"table - {method.lower()}"
    target = rest[0]
    if target == "$batch":
        return "table - batch"
    if target == "Tables" or target.startswith("Tables("):
        operations = {"POST": "create-table", "GET": "list-tables", "DELETE": "delete-table"}
        return f"table - {operations.get(method, method.lower())}"
    name, _, keys = target.partition("(")
    if keys.rstrip(")"):
        if method == "GET":
            return f"table {name} get"
        if method == "DELETE":
            return f"table {name} delete"
        if method in _TABLE_WRITES:
            conditional, unconditional = _TABLE_WRITES[method]
            return f"table {name} {conditional if 'If-Match' in headers else unconditional}"
    operations = {"POST": "insert", "GET": "query"}
    return f"table {name} {operations.get(method, method.lower())}"


def classify_queue_request(
    method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> str:
    """``queue <name> <operation>``: put, get, peek, delete, update, create..."""
    rest = _segments(path)
    if not rest:
        return f"queue - {query.get('comp', method.lower())}"
    name = rest[0]
    if len(rest) == 1:
        if "comp" in query:
            return f"queue {name} {query['comp']}"
        operations = {"PUT": "create", "DELETE": "delete-queue"}
        return f"queue {name} {operations.get(method, method.lower())}"
    if len(rest) == 2:
        if method == "GET":
            return f"queue {name} {'peek' if query.get('peekonly') == 'true' else 'get'}"
        operations = {"POST": "put", "DELETE": "clear"}
        return f"queue {name} {operations.get(method, method.lower())}"
    operations = {"DELETE": "delete", "PUT": "update"}
    return f"queue {name} {operations.get(method, method.lower())}"


def classify_by_name(
    method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> str:
    """``<method> <last path segment>``, e.g. ``POST Messages.json`` in front of Twilio."""
    return f"{method} {path.rsplit('/', 1)[-1]}"


CLASSIFIERS: dict[str, Callable[[str, str, Mapping[str, str], Mapping[str, str]], str]] = {
    "table": classify_table_request,
    "queue": classify_queue_request,
    "name": classify_by_name,
}
