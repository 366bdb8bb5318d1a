"""Queue output bindings, written only after the function succeeded, as in Azure."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import azure.functions as func
from azure.storage.queue.aio import QueueClient

from localdev.host.discovery import FunctionSpec
from localdev.host.hostjson import MessageEncoding
from localdev.host.invoker import InvocationResult
from localdev.host.storage import encode_body, ensure_queue, queue_client

log = logging.getLogger(__name__)


class OutputBindingError(TypeError):
    """A value set on a queue output binding cannot become a queue message."""


def _messages(value: Any) -> list[str | bytes]:
    if isinstance(value, str | bytes):
        return [value]
    if isinstance(value, func.QueueMessage):
        return [value.get_body()]
    if isinstance(value, Iterable):
        return [m for item in value for m in _messages(item)]
    raise OutputBindingError(f"cannot send a {type(value).__name__} to a queue")


class QueueOutputs:
    def __init__(
        self, encoding: MessageEncoding, on_sent: Callable[[str], None] | None = None
    ) -> None:
        self._encoding = encoding
        self._on_sent = on_sent
        self._clients: dict[tuple[str, str], QueueClient] = {}

    async def flush(self, spec: FunctionSpec, result: InvocationResult) -> None:
        for output in spec.queue_outputs:
            value = result.outputs.get(output.name)
            if value is None:
                continue
            client = await self._client(output.connection, output.queue_name)
            for message in _messages(value):
                await client.send_message(encode_body(message, self._encoding))
            if self._on_sent is not None:
                self._on_sent(output.queue_name)
            log.debug("%s: wrote %s to queue %s", spec.name, output.name, output.queue_name)

    async def _client(self, connection: str, queue_name: str) -> QueueClient:
        key = (connection, queue_name)
        if key not in self._clients:
            client = queue_client(connection, queue_name)
            try:
                await ensure_queue(client)
            except BaseException:
                await client.close()
                raise
            self._clients[key] = client
        return self._clients[key]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
