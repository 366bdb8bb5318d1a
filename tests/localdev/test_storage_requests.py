"""Naming Azure Storage REST requests by service, table or queue, and operation."""

from __future__ import annotations

import pytest

from localdev.storage_requests import (
    classify_by_name,
    classify_queue_request,
    classify_table_request,
)

ACCOUNT = "/devstoreaccount1"
ENTITY = f"{ACCOUNT}/MessageLog(PartitionKey='abc',RowKey='summary')"
CONDITIONAL = {"If-Match": 'W/"datetime"'}


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "name"),
    [
        ("POST", f"{ACCOUNT}/MessageLog", {}, {}, "table MessageLog insert"),
        ("GET", ENTITY, {}, {}, "table MessageLog get"),
        ("GET", f"{ACCOUNT}/MessageLog()", {"$filter": "x"}, {}, "table MessageLog query"),
        ("PUT", ENTITY, {}, CONDITIONAL, "table MessageLog update"),
        ("PUT", ENTITY, {}, {}, "table MessageLog upsert"),
        ("PATCH", ENTITY, {}, CONDITIONAL, "table MessageLog merge"),
        ("MERGE", ENTITY, {}, {}, "table MessageLog upsert-merge"),
        ("DELETE", ENTITY, {}, CONDITIONAL, "table MessageLog delete"),
        ("POST", f"{ACCOUNT}/$batch", {}, {}, "table - batch"),
        ("POST", f"{ACCOUNT}/Tables", {}, {}, "table - create-table"),
        ("DELETE", f"{ACCOUNT}/Tables('MessageLog')", {}, {}, "table - delete-table"),
    ],
)
def test_table_requests_are_named_by_table_and_operation(
    method: str, path: str, query: dict[str, str], headers: dict[str, str], name: str
) -> None:
    assert classify_table_request(method, path, query, headers) == name


@pytest.mark.parametrize(
    ("method", "path", "query", "name"),
    [
        ("POST", f"{ACCOUNT}/outbound/messages", {}, "queue outbound put"),
        ("GET", f"{ACCOUNT}/outbound/messages", {"numofmessages": "16"}, "queue outbound get"),
        ("GET", f"{ACCOUNT}/outbound/messages", {"peekonly": "true"}, "queue outbound peek"),
        (
            "DELETE",
            f"{ACCOUNT}/outbound/messages/id1",
            {"popreceipt": "r"},
            "queue outbound delete",
        ),
        ("PUT", f"{ACCOUNT}/outbound/messages/id1", {"popreceipt": "r"}, "queue outbound update"),
        ("DELETE", f"{ACCOUNT}/outbound/messages", {}, "queue outbound clear"),
        ("PUT", f"{ACCOUNT}/outbound", {}, "queue outbound create"),
        ("GET", f"{ACCOUNT}/outbound", {"comp": "metadata"}, "queue outbound metadata"),
        ("GET", f"{ACCOUNT}/", {"comp": "list"}, "queue - list"),
    ],
)
def test_queue_requests_are_named_by_queue_and_operation(
    method: str, path: str, query: dict[str, str], name: str
) -> None:
    assert classify_queue_request(method, path, query, {}) == name


def test_other_requests_are_named_by_method_and_last_segment() -> None:
    path = "/2010-04-01/Accounts/AC123/Messages.json"

    assert classify_by_name("POST", path, {}, {}) == "POST Messages.json"
