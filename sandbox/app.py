"""The sandbox's WSGI application: routing, auth, the duplicate guard, faults and the request
log around the BSG endpoints in ``api``, plus the /_sandbox/ control and inspection endpoints.

The order a BSG request goes through, and why:
1. the fault draw (before anything, so an injected 5xx/429/drop leaves nothing behind);
2. the request log entry (every request a client sent is visible, faulted or not);
3. routing, then the bearer token (401 {"message": "Unauthenticated."});
4. the duplicate guard (429 before processing, as BSG's);
5. the endpoint; a "hang" fault lets it run (the campaign exists) and then withholds the answer.
"""

import contextlib
import json
import select
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox import faults as fault_names
from sandbox.api import BsgApi, Call
from sandbox.faults import Faults, FaultsError
from sandbox.requestlog import LoggedRequest
from sandbox.state import SandboxState
from sandbox.tokens import TokenIssuer
from sandbox.validation.fields import INVALID, Refusal

UNAUTHENTICATED = {"message": "Unauthenticated."}
TOO_MANY = {"message": "Too many duplicate request detected"}
# Endpoints reachable without a bearer token.
PUBLIC = frozenset({"login"})
# Methods whose identical repetition BSG refuses with 429 (the YAML documents it on POST
# creation endpoints; PUT updates are guarded alike, PATCH stop and DELETE are idempotent).
GUARDED_METHODS = frozenset({"POST", "PUT"})

_RULES = [
    Rule("/api/auth/login", endpoint="login", methods=["POST"]),
    Rule("/api/auth/refresh", endpoint="refresh", methods=["POST"]),
    Rule("/api/campaigns/sms/send", endpoint="sms_send", methods=["POST"]),
    Rule("/api/campaigns/sms/send-groups", endpoint="sms_send_groups", methods=["POST"]),
    Rule("/api/campaigns/sms/send-individual", endpoint="sms_send_individual", methods=["POST"]),
    Rule("/api/campaigns/rcs/send-groups", endpoint="rcs_send_groups", methods=["POST"]),
    Rule("/api/campaigns/rcs/send", endpoint="rcs_send", methods=["POST"]),
    Rule("/api/campaigns/price", endpoint="campaign_price", methods=["POST"]),
    Rule("/api/campaigns", endpoint="campaigns", methods=["GET"]),
    Rule("/api/campaigns/<int:id>", endpoint="campaign", methods=["GET"]),
    Rule("/api/campaigns/<int:id>/detail", endpoint="campaign_detail", methods=["GET"]),
    Rule("/api/campaigns/<int:id>/stop", endpoint="campaign_stop", methods=["PATCH"]),
    Rule("/api/messages", endpoint="messages", methods=["GET"]),
    Rule("/api/accounts/balance", endpoint="balance", methods=["GET"]),
    Rule("/api/groups", endpoint="groups", methods=["GET"]),
    Rule("/api/groups", endpoint="group_create", methods=["POST"]),
    Rule("/api/groups/attach", endpoint="group_attach", methods=["POST"]),
    Rule("/api/groups/detach", endpoint="group_detach", methods=["POST"]),
    Rule("/api/groups/<int:id>", endpoint="group", methods=["GET"]),
    Rule("/api/groups/<int:id>", endpoint="group_update", methods=["PUT"]),
    Rule("/api/groups/<int:id>", endpoint="group_delete", methods=["DELETE"]),
    Rule("/api/contacts", endpoint="contacts", methods=["GET"]),
    Rule("/api/contacts", endpoint="contact_create", methods=["POST"]),
    Rule("/api/contacts/fields", endpoint="fields", methods=["GET"]),
    Rule("/api/contacts/fields", endpoint="field_create", methods=["POST"]),
    Rule("/api/contacts/fields/delete", endpoint="fields_delete", methods=["POST"]),
    Rule("/api/contacts/fields/<int:id>", endpoint="field_update", methods=["PATCH"]),
    Rule("/api/contacts/<int:id>", endpoint="contact", methods=["GET"]),
    Rule("/api/contacts/<int:id>", endpoint="contact_update", methods=["PUT"]),
    Rule("/api/contacts/<int:id>", endpoint="contact_delete", methods=["DELETE"]),
    Rule("/_sandbox/", endpoint="control_index", methods=["GET"]),
    Rule("/_sandbox/requests", endpoint="control_requests", methods=["GET"]),
    Rule("/_sandbox/campaigns", endpoint="control_campaigns", methods=["GET"]),
    Rule("/_sandbox/messages", endpoint="control_messages", methods=["GET"]),
    Rule("/_sandbox/callbacks", endpoint="control_callbacks", methods=["GET"]),
    Rule("/_sandbox/faults", endpoint="control_faults", methods=["GET", "PUT"]),
    Rule("/_sandbox/reset", endpoint="control_reset", methods=["POST"]),
    Rule("/_sandbox/time", endpoint="control_time", methods=["GET", "POST"]),
]

# nginx's answer when the application behind it fails: a real proxy sends HTML, not JSON.
_PROXY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
}


def json_response(payload: object, status: int = 200, headers: dict | None = None) -> Response:
    if payload is None:
        return Response(status=status, headers=headers)
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status=status,
        mimetype="application/json",
        headers=headers,
    )


def _parse_body(raw: bytes) -> tuple[object, bool]:
    """(parsed JSON or None, whether the body was acceptable: empty or valid JSON)."""
    if not raw.strip():
        return None, True
    try:
        return json.loads(raw), True
    except (ValueError, UnicodeDecodeError):
        return None, False


def _query(request: Request) -> dict[str, object]:
    return {
        name: values[0] if len(values) == 1 else values for name, values in request.args.lists()
    }


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    # The standard "Bearer <jwt>", and "Bearer: <jwt>" as one vendor page writes it.
    if scheme.rstrip(":").lower() != "bearer":
        return None
    return token.strip() or None


class SandboxApp:
    def __init__(self, state: SandboxState, tokens: TokenIssuer, closing: Any) -> None:
        self._state = state
        self._config = state.config
        self._tokens = tokens
        self._closing = closing  # threading.Event set when the server shuts down
        self._api = BsgApi(state.config, state.store, tokens, state.shapes)
        # Rules bind to one Map: each app gets unbound copies (several sandboxes per process).
        self._map = Map(
            [rule.empty() for rule in _RULES], strict_slashes=False, merge_slashes=False
        )

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith("/_sandbox"):
            return self._control(request)(environ, start_response)
        response = self._bsg(request, environ)
        return response(environ, start_response)

    # --- BSG requests ----------------------------------------------------------------------------

    def _bsg(self, request: Request, environ: dict) -> Response:
        state = self._state
        path = request.path
        fault, server_status = state.injector.draw(path)
        raw = request.get_data(cache=True)
        body, body_ok = _parse_body(raw)
        now = state.clock.now()
        entry = state.log.record(
            time=state.shapes.when(now) or "",
            timestamp=now,
            method=request.method,
            path=path,
            query=_query(request),
            body=body,
            fault=fault,
        )
        if not body_ok and not path.startswith("/api/auth/"):
            entry.extra["raw_body"] = raw[:2000].decode("utf-8", "replace")

        if fault == fault_names.DROP:
            self._say(entry)
            self._abort(environ)
        if fault == fault_names.ERROR_5XX:
            return self._answered(entry, self._server_error(server_status))
        if fault == fault_names.ERROR_429:
            retry_after = str(state.injector.faults.retry_after)
            return self._answered(
                entry, json_response(TOO_MANY, 429, headers={"Retry-After": retry_after})
            )
        if fault == fault_names.SLOW:
            generation = state.generation
            self._closing.wait(state.injector.faults.slow_delay)
            if state.generation != generation:
                # Reset while we waited: the account this request was sent to is gone.
                self._say(entry)
                self._abort(environ)

        response = self._process(request, raw, body, body_ok)
        entry.processed_status = response.status_code
        if fault == fault_names.HANG:
            self._say(entry)
            self._hold(environ, state.injector.faults.hang_timeout)
        return self._answered(entry, response)

    def _answered(self, entry: LoggedRequest, response: Response) -> Response:
        entry.status = response.status_code
        self._say(entry)
        return response

    def _say(self, entry: LoggedRequest) -> None:
        if self._config.verbose:
            fault = f" [fault: {entry.fault}]" if entry.fault else ""
            status = entry.status if entry.status is not None else "no answer"
            print(f"{entry.time} {entry.method} {entry.path} -> {status}{fault}", file=sys.stderr)

    def _process(self, request: Request, raw: bytes, body: object, body_ok: bool) -> Response:
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            return json_response({"message": "Not Found"}, 404)
        except MethodNotAllowed:
            return json_response({"message": "Method Not Allowed"}, 405)
        if endpoint.startswith("control_"):
            return json_response({"message": "Not Found"}, 404)
        if endpoint not in PUBLIC:
            token = _bearer(request)
            if token is None or not self._tokens.valid(token):
                return json_response(UNAUTHENTICATED, 401)
        if (
            request.method in GUARDED_METHODS
            and not request.path.startswith("/api/auth/")
            and raw.strip()
            and self._state.guard.refuses(request.method, request.path, raw)
        ):
            return json_response(TOO_MANY, 429)
        if not body_ok:
            return json_response(
                {"message": INVALID, "errors": ["The request body is not valid JSON."]}, 422
            )
        call = Call(path=request.path, args=request.args, body=body, now=self._state.clock.now())
        handler = getattr(self._api, endpoint)
        try:
            status, payload = handler(call, **values)
        except Refusal as refused:
            status, payload = refused.status, refused.body
        except Exception:
            # A sandbox bug: say so loudly on stderr and answer as a broken server would.
            traceback.print_exc()
            status, payload = 500, {"message": "Server Error"}
        return json_response(payload, status)

    @staticmethod
    def _server_error(status: int) -> Response:
        if status == 500:
            return json_response({"message": "Server Error"}, 500)
        page = _PROXY_PAGE.format(status=status, reason=_REASONS[status])
        return Response(page, status=status, mimetype="text/html")

    # --- connections that end without an answer --------------------------------------------------

    @staticmethod
    def _close(environ: dict) -> None:
        connection = environ.get("werkzeug.socket")
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def _abort(self, environ: dict) -> None:
        """Closes the connection without an answer. Werkzeug treats the ConnectionError as a
        client that went away and logs nothing."""
        self._close(environ)
        raise ConnectionAbortedError("sandbox fault: connection dropped without an answer")

    def _hold(self, environ: dict, timeout: float) -> None:
        """Keeps the connection open without answering until the client gives up (closes its
        end), ``timeout`` seconds pass or the server shuts down; then closes it unanswered."""
        connection = environ.get("werkzeug.socket")
        deadline = time.monotonic() + timeout
        while connection is not None and not self._closing.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            readable, _, _ = select.select([connection], [], [], min(0.05, remaining))
            if readable:
                try:
                    if not connection.recv(1, socket.MSG_PEEK):
                        break  # the client closed its end: it gave up
                except OSError:
                    break
                # The client sent more (a pipelined request): keep holding, without spinning.
                self._closing.wait(0.05)
        self._abort(environ)

    # --- /_sandbox/ ------------------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, _ = adapter.match()
        except NotFound:
            return json_response({"message": "Not Found"}, 404)
        except MethodNotAllowed:
            return json_response({"message": "Method Not Allowed"}, 405)
        if not endpoint.startswith("control_"):
            return json_response({"message": "Not Found"}, 404)
        body, body_ok = _parse_body(request.get_data())
        if not body_ok:
            return json_response({"message": INVALID, "errors": ["Body is not valid JSON."]}, 422)
        return getattr(self, f"_{endpoint}")(request, body)

    def _control_index(self, request: Request, body: object) -> Response:
        return json_response(
            {
                "endpoints": {
                    "GET /_sandbox/requests": "requests received (?path=&method=&since=<id>)",
                    "GET /_sandbox/campaigns": "campaigns created, message counts, reference ids",
                    "GET /_sandbox/messages": "messages, distinct phones and reference ids",
                    "GET /_sandbox/callbacks": "status callbacks sent, failed, lost, waiting, idle",
                    "GET /_sandbox/faults": "fault settings",
                    "PUT /_sandbox/faults": "replace fault settings (absent fields: defaults)",
                    "POST /_sandbox/reset": "a fresh account: no campaigns, requests or faults",
                    "GET /_sandbox/time": "the sandbox clock",
                    "POST /_sandbox/time": '{"advance": seconds, "freeze": true|false}',
                }
            }
        )

    def _control_requests(self, request: Request, body: object) -> Response:
        since = request.args.get("since", "0")
        return json_response(
            {
                "data": self._state.find_requests(
                    path_prefix=request.args.get("path", ""),
                    method=request.args.get("method", ""),
                    since=int(since) if since.isdigit() else 0,
                )
            }
        )

    def _control_campaigns(self, request: Request, body: object) -> Response:
        return json_response({"data": self._state.campaigns})

    def _control_messages(self, request: Request, body: object) -> Response:
        return json_response({"data": self._state.store.message_totals()})

    def _control_callbacks(self, request: Request, body: object) -> Response:
        callbacks = self._state.callbacks
        # idle: every change the clock has passed was POSTed (or given up, or lost); a client
        # that moves a frozen clock waits for it before it looks at what was pushed.
        return json_response({"data": {**callbacks.counts(), "idle": callbacks.idle()}})

    def _control_faults(self, request: Request, body: object) -> Response:
        if request.method == "PUT":
            try:
                self._state.set_faults(Faults.from_dict(body if body is not None else {}))
            except FaultsError as problem:
                return json_response({"message": INVALID, "errors": problem.errors}, 422)
        return json_response({"data": self._state.faults.to_dict()})

    def _control_reset(self, request: Request, body: object) -> Response:
        self._state.reset()
        return json_response({"data": {"reset": True}})

    def _control_time(self, request: Request, body: object) -> Response:
        if request.method == "POST":
            data = body if isinstance(body, dict) else {}
            errors: dict[str, list[str]] = {}
            advance = data.get("advance", 0)
            if isinstance(advance, bool) or not isinstance(advance, int | float) or advance < 0:
                errors["advance"] = ["Seconds to move the clock forward: a number >= 0."]
            freeze = data.get("freeze")
            if freeze is not None and not isinstance(freeze, bool):
                errors["freeze"] = ["This value should be of type bool."]
            if errors:
                return json_response({"message": INVALID, "errors": errors}, 422)
            if freeze is True:
                self._state.clock.freeze()
            self._state.clock.advance(float(advance))
            if freeze is False:
                self._state.clock.unfreeze()
        return json_response({"data": self._state.time()})
