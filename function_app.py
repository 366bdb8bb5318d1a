"""The gateway's functions: the table of contents of the app. Each one calls into ``shared``.

Send API (function key):      POST /api/messages, POST /api/calls,
                              GET /api/messages/{id}, GET /api/calls/{id},
                              GET /api/openapi.json (the API's OpenAPI 3.1 document)
Lists (function key):         GET /api/messages, GET /api/calls (filters, newest first, paged)
Erasure (function key):       DELETE /api/numbers/{number}
Statistics (function key):    GET /api/stats (counts per day, kept as records move)
Operator console (no key):    GET /api/console (+ its script and style; it asks for the key)
Queue worker:                 %OUTBOUND_QUEUE% -> Twilio REST
Events out:                   %EVENTS_QUEUE% -> Event Grid, webhooks (CloudEvents)
Dead letters (function key):  GET /api/events/dead-letters, POST /api/events/dead-letters/replay
Retention (timer, hourly):    purge past RETENTION_DAYS, owed Twilio deletions
Twilio webhooks (signed):     /api/twilio/status, /api/twilio/sms, /api/twilio/voice,
                              /api/twilio/voice/menu, /api/twilio/voice/recorded,
                              /api/twiml/message
TwiML previews (function key): /api/preview/twiml/message
Your own TwiML (example):     reminder_twiml.py, /api/twiml/reminder (+ its preview)
"""

import azure.functions as func

import reminder_twiml
from shared.platform import logs, telemetry
from shared.platform.settings import get_settings

logs.install_number_masking()
logs.quiet_sdk_request_logs()
telemetry.configure_azure_monitor_if_enabled()
get_settings()  # never raises: reports every bad or unsafe setting once, at start-up

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

# Each function imports its module when first called: a webhook or a TwiML fetch never pays for
# the storage SDKs, and indexing the app stays close to the cost of azure.functions alone.

TWILIO = func.AuthLevel.ANONYMOUS


@app.route(route="messages", methods=["POST"])
async def send_message(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import send_api

    return await send_api.accept_send(req, "sms")


@app.route(route="calls", methods=["POST"])
async def place_call(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import send_api

    return await send_api.accept_send(req, "call")


@app.route(route="messages", methods=["GET"])
async def list_messages(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import list_api

    return await list_api.list_records(req, "sms")


@app.route(route="calls", methods=["GET"])
async def list_calls(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import list_api

    return await list_api.list_records(req, "call")


@app.route(route="messages/{id}", methods=["GET"])
async def get_message(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import send_api

    return await send_api.read_status(req, "sms")


@app.route(route="calls/{id}", methods=["GET"])
async def get_call(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import send_api

    return await send_api.read_status(req, "call")


@app.route(route="stats", methods=["GET"])
async def statistics(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import stats_api

    return await stats_api.day_totals(req)


@app.route(route="console", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def console_page(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import console

    return console.serve()


@app.route(route="console/{asset}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def console_asset(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import console

    return console.serve(req.route_params.get("asset", ""))


@app.route(route="openapi.json", methods=["GET"])
async def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import api_reference

    return api_reference.openapi_document()


@app.route(route="numbers/{number}", methods=["DELETE"])
async def erase_number(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import numbers_api

    return await numbers_api.erase(req)


@app.timer_trigger(schedule="0 7 * * * *", arg_name="timer", use_monitor=False)
async def retention_purge(timer: func.TimerRequest) -> None:
    from shared.handlers import retention_timer

    await retention_timer.run(timer)


@app.queue_trigger(arg_name="msg", queue_name="%OUTBOUND_QUEUE%", connection="AzureWebJobsStorage")
async def outbound_worker(msg: func.QueueMessage) -> None:
    from shared.handlers import worker
    from shared.platform import tracing

    with tracing.continue_trace(msg):
        await worker.process(msg)


@app.queue_trigger(arg_name="msg", queue_name="%EVENTS_QUEUE%", connection="AzureWebJobsStorage")
async def events_publisher(msg: func.QueueMessage) -> None:
    from shared.handlers import events_worker

    await events_worker.process(msg)


@app.route(route="events/dead-letters", methods=["GET"])
async def list_dead_letters(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import dead_letter_api

    return await dead_letter_api.list_letters(req)


@app.route(route="events/dead-letters/replay", methods=["POST"])
async def replay_dead_letters(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import dead_letter_api

    return await dead_letter_api.replay(req)


@app.route(route="twilio/status", methods=["POST"], auth_level=TWILIO)
async def twilio_status(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import webhooks

    return await webhooks.status_callback(req)


@app.route(route="twilio/sms", methods=["POST"], auth_level=TWILIO)
async def twilio_sms(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import webhooks

    return await webhooks.incoming_sms(req)


@app.route(route="twilio/voice", methods=["POST"], auth_level=TWILIO)
async def twilio_voice(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import webhooks

    return await webhooks.incoming_call(req)


@app.route(route="twilio/voice/menu", methods=["POST"], auth_level=TWILIO)
async def twilio_voice_menu(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import webhooks

    return await webhooks.voice_menu(req)


@app.route(route="twilio/voice/recorded", methods=["POST"], auth_level=TWILIO)
async def twilio_voicemail(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import webhooks

    return await webhooks.voicemail_recorded(req)


@app.route(route="twiml/message", methods=["GET", "POST"], auth_level=TWILIO)
async def twiml_message(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import webhooks

    return webhooks.twiml_message(req)


@app.route(route="preview/twiml/message", methods=["GET", "POST"])
async def twiml_message_preview(req: func.HttpRequest) -> func.HttpResponse:
    from shared.handlers import webhooks

    return webhooks.twiml_message_preview(req)


app.register_functions(reminder_twiml.bp)
