"""The send API: accept a request, log it, queue it; and read a record's status back.

Accepting means the summary row is inserted (never upserted) as ``accepted`` and the request
is on the queue. A failure in between is answered 503 and the accept is withdrawn, unless a
worker already has it; a repeat with the same Idempotency-Key re-enqueues an ``accepted`` (or
withdrawn) record, because the worker's claim makes a duplicate queue message harmless while
a missing one would lose the request.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import azure.functions as func
from azure.core.exceptions import AzureError, HttpResponseError

from shared.delivery.enqueue import enqueue
from shared.delivery.services import Services, get_services
from shared.domain.callback_url import require_callback_secret
from shared.domain.outbound import ID_PATTERN, LoggedAs, OutboundRequest, parse_request
from shared.domain.records import LogRecord
from shared.domain.status import ACCEPTED, KINDS, REJECTED, WITHDRAWN, Kind
from shared.domain.transitions import new_outbound_record, revive, withdraw
from shared.platform import logs
from shared.platform.errors import InvalidRequestError, MisconfiguredError, shown
from shared.platform.http import (
    HttpError,
    json_response,
    misconfigured,
    read_json,
    storage_unavailable,
)
from shared.platform.settings import get_settings
from shared.platform.tracing import stamped
from shared.storage.message_log import RecordExistsError

_REFUSED_STATUSES = frozenset({400, 413})
_COLLECTION: dict[Kind, str] = {"sms": "messages", "call": "calls"}


class StorageUnavailableError(Exception):
    """Storage could not be reached or answered with an error; the caller should retry."""


class StorageRefusedError(Exception):
    """Storage refused this request itself (400, 413): retrying it cannot help."""


def _accepted_body(kind: Kind, record_id: str) -> dict[str, Any]:
    status_url = f"/api/{_COLLECTION[kind]}/{record_id}"
    return {"id": record_id, "status": ACCEPTED, "status_url": status_url}


def _idempotency_key(req: func.HttpRequest) -> str | None:
    key: str | None = req.headers.get("idempotency-key")
    if key is None:
        return None
    if not ID_PATTERN.fullmatch(key):
        raise HttpError(
            400,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'",
            "Idempotency-Key",
        )
    return key


def _parse(req: func.HttpRequest, kind: Kind) -> OutboundRequest:
    data = read_json(req)
    key = _idempotency_key(req)
    if key is not None and isinstance(data, dict) and data.get("id") not in (None, key):
        raise HttpError(
            400, "id_mismatch", "the body's 'id' differs from the Idempotency-Key header", "id"
        )
    settings = get_settings()
    request = parse_request(data, kind=kind, default_id=key, local_callbacks=settings.local_stack)
    require_callback_secret(request.callback_url, bool(settings.events.callback_secrets))
    return request


def _check_sender(request: OutboundRequest, services: Services) -> None:
    settings = services.settings
    settings.require("twilio")
    if request.from_ or settings.from_number:
        return
    if request.kind == "sms" and settings.messaging_service_sid:
        return
    raise InvalidRequestError(
        "missing_from",
        "'from' is required: this gateway has no default sender (TWILIO_FROM_NUMBER)",
        "from",
    )


def _erased(record_id: str, status: int) -> HttpError:
    return HttpError(
        status,
        "erased",
        f"the record of id {record_id!r} was erased at the person's request; "
        "it is not sent again and its data is gone",
        "id",
    )


async def _repeat(services: Services, request: OutboundRequest) -> func.HttpResponse:
    existing = await services.log.get(request.id)
    if existing is None and await services.log.is_erased(request.id):
        logs.info("send_repeated_after_erasure", id=request.id, kind=request.kind)
        raise _erased(request.id, 409)
    if existing is None or existing.kind != request.kind:
        raise HttpError(409, "id_conflict", f"id {request.id!r} is in use", "id")
    if existing.request_hash != request.fingerprint():
        raise HttpError(
            409,
            "idempotency_conflict",
            "this Idempotency-Key was used with a different request",
            "Idempotency-Key",
        )
    if existing.status == WITHDRAWN:
        revived = await services.log.update(request.id, revive(), existing)
        if revived is not None and revived[1] is not None:
            await _enqueue_or_withdraw(services, request, revived[0])
    elif existing.status == ACCEPTED and existing.status_rank == 0:
        # The gateway's own ``accepted``, not Twilio's (same name, a later rank).
        await enqueue(services, request)
    logs.info("send_repeated", id=request.id, kind=request.kind, status=existing.status)
    return json_response(_accepted_body(request.kind, request.id), 202)


async def _accept(req: func.HttpRequest, kind: Kind) -> func.HttpResponse:
    request = stamped(_parse(req, kind))
    try:
        services = await get_services()
        _check_sender(request, services)
        record, event = new_outbound_record(
            request, source="api", store_bodies=services.settings.log_message_bodies
        )
        try:
            created = await services.log.create(record, event)
        except RecordExistsError:
            return await _repeat(services, request)
        if created.etag:
            request = replace(request, logged_as=LoggedAs(created.created_at, created.etag))
        await _index_and_enqueue(services, request, created)
    except AzureError as exc:
        raise _storage_error(exc) from exc
    logs.info("send_accepted", id=request.id, kind=kind, to=request.to, tag=request.tag)
    return json_response(_accepted_body(kind, request.id), 202)


async def _index_and_enqueue(
    services: Services, request: OutboundRequest, record: LogRecord
) -> None:
    """Two independent writes, at once: the index row (never raises) and the queue message."""
    _, queued = await asyncio.gather(
        services.index.add(record),
        _enqueue_or_withdraw(services, request, record),
        return_exceptions=True,
    )
    if isinstance(queued, BaseException):
        raise queued


async def _enqueue_or_withdraw(
    services: Services, request: OutboundRequest, record: LogRecord
) -> None:
    """Queue an accepted record; if that fails, take the accept back so that a 503 is true.

    A failed enqueue may still have put the message on the queue, and a worker may already
    have claimed it: then the record has moved, the withdrawal does not apply, and the
    request is on its way (202). Otherwise the record becomes ``withdrawn``, which no worker
    sends, until a retry with the same Idempotency-Key brings it back.
    """
    try:
        await enqueue(services, request)
    except AzureError as exc:
        reason = f"could not be queued ({type(exc).__name__}); retry with the same id"
        withdrawn = await services.log.update(request.id, withdraw(record, reason), record)
        if withdrawn is not None and withdrawn[1] is not None:
            raise
        logs.warning("enqueue_failed_but_claimed", id=request.id, error=type(exc).__name__)


def _storage_error(exc: AzureError) -> StorageUnavailableError | StorageRefusedError:
    """Storage refusing the request itself (400: a value over its limits, a key it will not
    take; 413: too large) is final: a 503 would make the client retry forever. Other 4xx
    (a missing table, bad credentials) are the gateway's problem and stay 503."""
    status = exc.status_code if isinstance(exc, HttpResponseError) else None
    if status in _REFUSED_STATUSES:
        return StorageRefusedError(f"{status} {getattr(exc, 'error_code', None) or ''}".strip())
    return StorageUnavailableError(str(exc))


def _storage_refused(exc: StorageRefusedError) -> func.HttpResponse:
    logs.error("storage_refused", error=str(exc))
    return HttpError(
        400,
        "unstorable_request",
        f"storage refused this request ({exc}); it was not accepted and retrying will not help",
    ).response()


def _storage_unavailable(exc: StorageUnavailableError) -> func.HttpResponse:
    logs.error("storage_unavailable", error=str(exc)[:200])
    return storage_unavailable(
        "the request was not accepted and nothing will be sent. "
        "Retry later with the same Idempotency-Key: it is sent at most once"
    )


async def accept_send(req: func.HttpRequest, kind: Kind) -> func.HttpResponse:
    """``POST /api/messages`` and ``POST /api/calls``."""
    try:
        return await _accept(req, kind)
    except InvalidRequestError as exc:
        return json_response(exc.as_json(), 400)
    except HttpError as exc:
        return exc.response()
    except StorageUnavailableError as exc:
        return _storage_unavailable(exc)
    except StorageRefusedError as exc:
        return _storage_refused(exc)
    except MisconfiguredError as exc:
        return misconfigured(exc)


def _readable_as(record: LogRecord, kind: Kind) -> bool:
    """A queue message rejected before its kind was known is readable on both routes."""
    return record.kind == kind or (record.status == REJECTED and record.kind not in KINDS)


async def read_status(req: func.HttpRequest, kind: Kind) -> func.HttpResponse:
    """``GET /api/messages/{id}`` and ``GET /api/calls/{id}``: the summary and its history."""
    record_id = req.route_params.get("id", "")
    not_found = HttpError(404, "not_found", f"no {kind} with id {shown(record_id)}", "id")
    if not ID_PATTERN.fullmatch(record_id):
        return not_found.response()
    try:
        services = await get_services()
        found = await services.log.read(record_id)
        if found is None and await services.log.is_erased(record_id):
            return _erased(record_id, 404).response()
        if found is None or not _readable_as(found[0], kind):
            return not_found.response()
        record, history = found
    except MisconfiguredError as exc:
        return misconfigured(exc)
    except AzureError as exc:
        error = _storage_error(exc)
        if isinstance(error, StorageRefusedError):
            return _storage_refused(error)
        return _storage_unavailable(error)
    body = record.public_json()
    body["history"] = [event.as_json() for event in history]
    return json_response(body)
