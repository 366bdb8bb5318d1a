"""Storage connections named by bindings, resolved from app settings like the host does."""

from __future__ import annotations

import base64
import binascii
import logging
import os

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue.aio import QueueClient

from localdev.host.hostjson import MessageEncoding

# The host's own polling requests, kept out of the log: the app's SDK loggers are the app's.
SDK_REQUESTS = logging.getLogger("localdev.host.storage.requests")
SDK_REQUESTS.setLevel(logging.WARNING)

DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"
# Azurite's default endpoints and its public, documented development account.
DEVELOPMENT_CONNECTION_STRING = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
    "KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)


class MissingConnectionError(LookupError):
    """The binding names a connection no app setting provides."""


class MessageDecodingError(ValueError):
    """The message text is not the base64 that messageEncoding=base64 promises."""


def resolve_connection_string(connection: str) -> str:
    """`AzureWebJobs<name>` first, then `<name>`: the host's lookup order."""
    for candidate in (f"AzureWebJobs{connection}", connection):
        value = os.environ.get(candidate)
        if value:
            return DEVELOPMENT_CONNECTION_STRING if value.strip() == DEVELOPMENT_STORAGE else value
    raise MissingConnectionError(
        f"storage connection {connection!r} is not set (looked for app settings "
        f"'AzureWebJobs{connection}' and '{connection}')"
    )


def queue_client(connection: str, queue_name: str) -> QueueClient:
    """A client that neither encodes nor decodes, so content is handled byte-exactly here.

    Retries are short: the listeners retry on their own schedule, and the SDK's default
    (about a minute and a half against a stopped Azurite) would stall start-up and shutdown.
    No proxy or netrc lookups per request: the real host (.NET) makes none, and their cost
    would be counted against the app in ``make bench``.
    """
    return QueueClient.from_connection_string(
        resolve_connection_string(connection),
        queue_name,
        retry_total=1,
        initial_backoff=1,
        increment_base=2,
        random_jitter_range=1,
        use_env_settings=False,
        logger=SDK_REQUESTS,
    )


async def ensure_queue(client: QueueClient) -> None:
    try:
        await client.create_queue()
    except ResourceExistsError:
        return


def decode_body(content: str, encoding: MessageEncoding) -> bytes:
    if encoding == "none":
        return content.encode("utf-8")
    try:
        return base64.b64decode(content.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise MessageDecodingError(f"message is not valid base64: {exc}") from exc


def encode_body(body: str | bytes, encoding: MessageEncoding) -> str:
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if encoding == "none":
        return raw.decode("utf-8")
    return base64.b64encode(raw).decode("ascii")
