"""The HTTP front end: routes requests to HTTP-triggered functions with host semantics
(route prefix, templates, methods, key auth) and turns their return value into a response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.core.exceptions import AzureError
from multidict import CIMultiDict

from localdev.aiohttp_server import AiohttpServer
from localdev.host.discovery import FunctionSpec, HttpTrigger
from localdev.host.invoker import RETURN, Invoker
from localdev.host.keys import HostKeys
from localdev.host.outputs import OutputBindingError, QueueOutputs
from localdev.host.routes import MethodNotAllowed, RouteTable

log = logging.getLogger(__name__)

KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"
ADMIN_FUNCTIONS = "/admin/functions/"
STATUS_PATHS = ("/", "/admin/host/status")
MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the Functions host's documented request limit
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection"}


class UnsupportedResponseError(TypeError):
    """The function returned something the HTTP output binding cannot send."""


def to_web_response(value: Any) -> web.Response:
    """Mirror the Python worker's HTTP output conversion."""
    if value is None:
        return web.Response(status=204)
    if isinstance(value, str):
        return web.Response(
            body=value.encode(), headers={"Content-Type": "text/plain; charset=utf-8"}
        )
    if not isinstance(value, func.HttpResponse):
        raise UnsupportedResponseError(
            f"an HTTP function must return func.HttpResponse or str, not {type(value).__name__}"
        )
    headers: CIMultiDict[str] = CIMultiDict()
    for name, header_value in value.headers.items():
        if name.lower() not in _HOP_BY_HOP:
            headers.add(name, header_value)
    if "Content-Type" not in headers:
        mimetype: str = value.mimetype
        headers["Content-Type"] = (
            f"{mimetype}; charset={value.charset}" if mimetype.startswith("text/") else mimetype
        )
    status: int = value.status_code
    body: bytes = value.get_body()
    return web.Response(status=status, body=body or None, headers=headers)


def presented_key(request: web.Request) -> str | None:
    return request.headers.get(KEY_HEADER) or request.query.get(KEY_QUERY)


def refusal_line(request: web.Request, level: str, function: str) -> str:
    """Why a request got a 401, for the host's log: Azure answers it with no body, as this
    host does, so a ``curl -s`` that shows nothing is explained here. Never the key itself."""
    needed = "the master key" if level == "admin" else "the function key"
    problem = "no key was sent" if presented_key(request) is None else "the key sent is wrong"
    return (
        f"401 {request.method} {request.path} (Functions.{function}): {problem}; send "
        f"{needed} as the {KEY_HEADER} header or ?{KEY_QUERY}= (kept in .localdev/host_keys.json)"
    )


def _joined(values: Any) -> dict[str, str]:
    """Repeated headers and query keys arrive comma-joined, as ASP.NET's StringValues do."""
    return {key: ",".join(values.getall(key)) for key in dict.fromkeys(values.keys())}


class HttpServer(AiohttpServer):
    def __init__(
        self,
        functions: list[FunctionSpec],
        *,
        host: str,
        port: int,
        route_prefix: str,
        keys: HostKeys,
        invoker: Invoker,
        outputs: QueueOutputs,
        status: Callable[[], dict[str, Any]],
        shutdown_timeout: float,
        run_function: Callable[[str], bool] | None = None,
    ) -> None:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        super().__init__(
            app, host=host, port=port, shutdown_timeout=shutdown_timeout, access_log=None
        )
        self._prefix = route_prefix.strip("/")
        self._keys = keys
        self._invoker = invoker
        self._outputs = outputs
        self._status = status
        self._run_function = run_function
        self._routes: RouteTable[tuple[FunctionSpec, HttpTrigger]] = RouteTable()
        for spec in functions:
            if isinstance(spec.trigger, HttpTrigger):
                self._routes.add(spec.trigger.route, spec.trigger.methods, (spec, spec.trigger))

    def path_for(self, route: str) -> str:
        return "/" + "/".join(part for part in (self._prefix, route.strip("/")) if part)

    def _relative(self, path: str) -> str | None:
        if not self._prefix:
            return path
        lowered, prefix = path.lower(), "/" + self._prefix.lower()
        if lowered == prefix or lowered.startswith(prefix + "/"):
            return path[len(prefix) :]
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/admin/host/status":
            return web.json_response(self._status())
        if request.path.startswith(ADMIN_FUNCTIONS) and request.method == "POST":
            return self._run_non_http(request, request.path[len(ADMIN_FUNCTIONS) :])
        relative = self._relative(request.path)
        resolved = None if relative is None else self._routes.resolve(relative, request.method)
        if resolved is None:
            if request.path == "/":
                return web.json_response(self._status())
            return web.Response(status=404)
        if isinstance(resolved, MethodNotAllowed):
            return web.Response(status=405, headers={"Allow": ", ".join(sorted(resolved.allowed))})
        spec, trigger = resolved.target
        if not self._authorized(trigger, request):
            log.warning("%s", refusal_line(request, trigger.auth_level, spec.name))
            return web.Response(status=401)
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=_joined(request.headers),
            params=_joined(request.query),
            route_params=resolved.route_params,
            body=await request.read(),
        )
        return await self._invoke(spec, http_request, request.path)

    def _run_non_http(self, request: web.Request, name: str) -> web.Response:
        """The host's admin API: run a non-HTTP function now (master key); 202 at once, as in
        Azure, while the function runs."""
        if not self._keys.allows_admin(presented_key(request)):
            return web.Response(status=401)
        if self._run_function is None or not self._run_function(name):
            return web.Response(status=404)
        return web.Response(status=202)

    def _authorized(self, trigger: HttpTrigger, request: web.Request) -> bool:
        level = trigger.auth_level
        if level == "anonymous":
            return True
        key = presented_key(request)
        return self._keys.allows_admin(key) if level == "admin" else self._keys.allows_function(key)

    async def _invoke(
        self, spec: FunctionSpec, http_request: func.HttpRequest, path: str
    ) -> web.Response:
        result = await self._invoker.invoke(
            spec,
            http_request,
            reason="This function was programmatically called via the host APIs.",
            details=f"{http_request.method} {path}",
        )
        if not result.succeeded:
            return web.Response(status=500)
        try:
            await self._outputs.flush(spec, result)
            return to_web_response(result.outputs.get(spec.http_output or RETURN))
        except (OutputBindingError, UnsupportedResponseError, AzureError):
            log.exception("Functions.%s: its outputs could not be delivered", spec.name)
            return web.Response(status=500)
