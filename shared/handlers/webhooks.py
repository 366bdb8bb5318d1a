"""Twilio-facing endpoints: status callbacks, incoming sms and calls, TwiML for calls.

Each one checks Twilio's signature first, answers TwiML, never calls Twilio's REST API and
waits on at most one round of table operations, so it answers well inside Twilio's 15
second limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import azure.functions as func
from azure.core.exceptions import AzureError

from shared.delivery import status_checks, status_counts
from shared.delivery.services import Services, get_services
from shared.domain.outbound import ID_PATTERN
from shared.domain.records import LogEvent, LogRecord
from shared.domain.status import is_twilio_status
from shared.domain.transitions import TWILIO, inbound_record
from shared.handlers import inbound, twiml_endpoint
from shared.handlers.inbound import inbound_only
from shared.platform import logs
from shared.platform.errors import MisconfiguredError
from shared.platform.http import FormParams, forbidden, form_params, misconfigured, twiml_response
from shared.platform.settings import Group, get_settings
from shared.storage.message_log import RecordExistsError, callback_key
from shared.storage.opt_outs import keyword_of
from shared.twilio import twiml
from shared.twilio.signatures import refusal

# What one callback row may hold of Twilio's values: a row stays small whatever was sent.
MAX_STATUS_CHARS = 40
MAX_SID_CHARS = 64
MAX_ERROR_MESSAGE_CHARS = 500

Handler = Callable[[func.HttpRequest, FormParams], Awaitable[func.HttpResponse]]


async def _guarded(
    req: func.HttpRequest, handle: Handler, needs: tuple[Group, ...] = ("storage",)
) -> func.HttpResponse:
    """Signature first; then the settings groups the handler needs (a broken ``VOICE_*``
    setting refuses voice webhooks only, and only to Twilio, with the setting's name)."""
    settings = get_settings()
    try:
        settings.require("twilio")
        reason = refusal(req, settings)
        if reason is not None:
            return forbidden(reason)
        settings.require(*needs)
    except MisconfiguredError as exc:
        if "voice" in needs:
            text = f"This line is not set up: the gateway setting {exc.name} is not valid."
            return twiml_response(twiml.say_response(text), status=500)
        return misconfigured(exc)
    return await handle(req, form_params(req))


def _int(value: str) -> int | None:
    """Twilio's error codes: a few ASCII digits; anything else is no code, never a crash."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


async def _status_callback(req: func.HttpRequest, params: FormParams) -> func.HttpResponse:
    """One row, no read: the log folds the callback into the summary when it is next read.

    A SID the worker never recorded (it died, or gave up) gets its owner here, because the
    signed callback URL proves whose send it is and reconciliation of other records must
    know; a SID another record owns is only history on this one.
    """
    record_id, only_inbound = inbound.callback_record_id(params, req.params.get("id", ""))
    status = params.first("MessageStatus") or params.first("SmsStatus")
    sid = params.first("MessageSid") or params.first("SmsSid")
    if not status:
        status, sid = params.first("CallStatus"), params.first("CallSid")
    if not ID_PATTERN.fullmatch(record_id) or not status:
        logs.warning("status_callback_unusable", id=record_id, status=status)
        return twiml_response(twiml.empty_messaging())
    if not is_twilio_status(status):
        logs.warning("status_callback_unknown_status", id=record_id, status=status)
    event = LogEvent(
        status[:MAX_STATUS_CHARS],
        TWILIO,
        twilio_sid=sid[:MAX_SID_CHARS] or None,
        error_code=_int(params.first("ErrorCode")),
        error_message=params.first("ErrorMessage")[:MAX_ERROR_MESSAGE_CHARS] or None,
    )
    services = await get_services()
    key = callback_key(params)
    kind = "sms" if params.first("MessageStatus") or params.first("SmsStatus") else "call"
    direction = "inbound" if only_inbound else "outbound"
    added = (
        _add_owned_callback(services, record_id, sid, event, key)
        if sid and not only_inbound
        else services.log.add_callback(record_id, event, only_inbound, key)
    )
    counted = status_counts.count(services.stats, record_id, kind, direction, event)
    created, _ = await asyncio.gather(added, counted)
    logs.info(
        "status_callback" if created else "status_callback_repeated", id=record_id, status=status
    )
    return twiml_response(twiml.empty_messaging())


async def _add_owned_callback(
    services: Services, record_id: str, sid: str, event: LogEvent, key: str
) -> bool:
    """The owner row decides which record shows a SID: a callback for a SID that another
    record owns (its reconciliation adopted it) is history here, never folded in (its row
    folds into inbound records only). The owner is known in this instance for most sends,
    so the usual cost is the one insert; else the owner row is read (or written) first. A
    SID nobody had recorded may reopen a record the checks ended ``failed``: one read tells,
    and such a record is followed by status checks again."""
    owner, first_seen = services.sids.known(sid), False
    if owner is None:
        owner, first_seen = await services.sids.ensure(sid, record_id)
    if owner == record_id:
        added = await services.log.add_callback(record_id, event, False, key)
        if first_seen:
            await status_checks.follow_if_reopened(services, record_id)
        return added
    logs.error("sid_claimed_by_another_record", id=record_id, sid=sid, owner=owner)
    return await services.log.add_callback(record_id, event, True, key)


async def _log_inbound(services: Services, entry: tuple[LogRecord, LogEvent]) -> bool:
    """True when this webhook logged the record first (a redirect posts the call again).

    The record and its index row are independent writes and go out together; an index row
    whose record could not be written is skipped by the lists. The row's key holds this
    webhook's time, so a repeat (Twilio's retry, a menu's redirect) takes its row back: one
    more request for a repeat, none for the first webhook.
    """
    record, event = entry
    created, _ = await asyncio.gather(
        services.log.create(record, event), services.index.add(record), return_exceptions=True
    )
    if isinstance(created, RecordExistsError):
        logs.info("inbound_repeated", id=record.id)
        await services.index.remove(record)
        return False
    if isinstance(created, BaseException):
        raise created
    return True


async def _check_call_later(services: Services, sid: str) -> None:
    """The safety net for the number's status callback (not configured, or lost): the
    worker asks Twilio about the call until it is final, as for outbound sends."""
    try:
        await status_checks.schedule(services, sid)
    except AzureError as exc:
        logs.error("inbound_status_check_not_scheduled", id=sid, error=type(exc).__name__)


async def _incoming_sms(req: func.HttpRequest, params: FormParams) -> func.HttpResponse:
    services = await get_services()
    settings = services.settings
    sender, body = params.first("From"), params.first("Body")
    sid = params.first("MessageSid") or params.first("SmsSid")
    if sid:
        record, event = inbound_record(
            sid, "sms", "received", params.first("To"), sender, body, settings.log_message_bodies
        )
        await _log_inbound(
            services, (inbound.with_media(record, inbound.media_urls(params)), event)
        )
    keyword = keyword_of(body)
    if keyword is not None and sender:
        opted_out = await services.opt_outs.apply_keyword(sender, keyword)
        logs.info("opt_keyword", keyword=keyword, from_=sender, opted_out=opted_out)
        return twiml_response(twiml.empty_messaging())
    logs.info("incoming_sms", sid=sid, from_=sender, auto_reply=bool(settings.sms_auto_reply))
    if settings.sms_auto_reply:
        return twiml_response(twiml.message_reply(settings.sms_auto_reply))
    return twiml_response(twiml.empty_messaging())


async def _incoming_call(req: func.HttpRequest, params: FormParams) -> func.HttpResponse:
    services = await get_services()
    sid = params.first("CallSid")
    if sid:
        entry = inbound_record(
            sid, "call", "ringing", params.first("To"), params.first("From"), None, False
        )
        if await _log_inbound(services, entry):
            await _check_call_later(services, sid)
    logs.info(
        "incoming_call", sid=sid, from_=params.first("From"), mode=services.settings.voice_mode
    )
    return twiml_response(twiml.inbound_call(services.settings))


async def _menu(req: func.HttpRequest, params: FormParams) -> func.HttpResponse:
    settings = get_settings()
    digits = params.first("Digits")
    logs.info("voice_menu_choice", sid=params.first("CallSid"), digits=digits)
    return twiml_response(twiml.menu_choice(settings, digits))


async def _recorded(req: func.HttpRequest, params: FormParams) -> func.HttpResponse:
    services = await get_services()
    sid = params.first("CallSid")
    recording = params.first("RecordingUrl")
    seconds = params.first("RecordingDuration")
    if sid and recording:
        try:
            updated = await services.log.update(
                sid, inbound_only(inbound.recorded(recording, seconds))
            )
        except AzureError as exc:
            logs.error("voicemail_not_logged", sid=sid, error=type(exc).__name__)
        else:
            if updated is None or updated[1] is None:
                logs.warning("voicemail_for_unknown_call", sid=sid)
    logs.info("voicemail_recorded", sid=sid, seconds=seconds)
    return twiml_response(twiml.voicemail_done(services.settings))


async def status_callback(req: func.HttpRequest) -> func.HttpResponse:
    return await _guarded(req, _status_callback)


async def incoming_sms(req: func.HttpRequest) -> func.HttpResponse:
    return await _guarded(req, _incoming_sms)


async def incoming_call(req: func.HttpRequest) -> func.HttpResponse:
    return await _guarded(req, _incoming_call, needs=("storage", "voice"))


async def voice_menu(req: func.HttpRequest) -> func.HttpResponse:
    return await _guarded(req, _menu, needs=("storage", "voice"))


async def voicemail_recorded(req: func.HttpRequest) -> func.HttpResponse:
    return await _guarded(req, _recorded, needs=("storage", "voice"))


def twiml_message(req: func.HttpRequest) -> func.HttpResponse:
    return twiml_endpoint.signed(req, twiml.twimlet_from_params)


def twiml_message_preview(req: func.HttpRequest) -> func.HttpResponse:
    return twiml_endpoint.preview(req, twiml.twimlet_from_params)
