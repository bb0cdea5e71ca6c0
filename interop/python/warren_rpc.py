"""Warren's RPC protocol in Python, with pika, written from packages/contracts/asyncapi.json alone.

A request is a JSON body published on the default exchange to the route's queue (the route name) with
``correlation_id``, ``reply_to`` (direct reply-to), ``expiration`` (the timeout in ms) and the application headers
the document lists (``x-deadline`` in epoch ms, ``x-idempotency-key``, ``x-caller-subject``, ``x-caller-scopes``,
``traceparent``). The reply is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}``.
"""

import json
import secrets
import time
import uuid

import pika

DIRECT_REPLY_QUEUE = "amq.rabbitmq.reply-to"
DEADLINE_HEADER = "x-deadline"
JSON = "application/json"


def now_ms():
    return int(time.time() * 1000)


class RpcError(Exception):
    """A typed failure from a responder: ``code`` is one of the document's RpcError codes."""

    def __init__(self, route, code, message, details=None, retriable=False):
        super().__init__(f"{route}: {code}: {message}")
        self.route = route
        self.code = code
        self.message = message
        self.details = details
        self.retriable = retriable


class TraceParent:
    """W3C Trace Context: a trace id and the id of the span that is the parent of whatever comes next."""

    def __init__(self, trace_id, span_id):
        self.trace_id = trace_id
        self.span_id = span_id

    @staticmethod
    def parse(header):
        parts = header.split("-") if isinstance(header, str) else []
        if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
            return None
        return TraceParent(parts[1], parts[2])

    def child(self):
        """A new span of this trace, as this process's own."""
        return TraceParent(self.trace_id, secrets.token_hex(8))

    def header(self):
        return f"00-{self.trace_id}-{self.span_id}-01"


class Caller:
    """Calls routes and waits for each reply on direct reply-to, on one blocking connection."""

    def __init__(self, url):
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        # Publisher confirms: a request nobody can receive (no queue: mandatory) fails at once, not at its timeout.
        self.channel.confirm_delivery()
        self.replies = {}
        # Direct reply-to: consume it (no-ack) before publishing with it as reply_to, on the same channel.
        self.channel.basic_consume(DIRECT_REPLY_QUEUE, self._on_reply, auto_ack=True)

    def _on_reply(self, _channel, _method, properties, body):
        self.replies[properties.correlation_id] = body

    def call(self, route, payload, timeout_ms=5000, headers=None, deadline=None):
        correlation_id = str(uuid.uuid4())
        deadline = min(deadline, now_ms() + timeout_ms) if deadline else now_ms() + timeout_ms
        properties = pika.BasicProperties(
            correlation_id=correlation_id,
            reply_to=DIRECT_REPLY_QUEUE,
            content_type=JSON,
            delivery_mode=2,
            expiration=str(max(1, deadline - now_ms())),
            headers={DEADLINE_HEADER: deadline, **(headers or {})},
        )
        try:
            self.channel.basic_publish("", route, json.dumps(payload), properties, mandatory=True)
        except pika.exceptions.UnroutableError as error:
            raise RpcError(route, "no_route", "no queue is bound for the route", retriable=True) from error
        while correlation_id not in self.replies:
            if now_ms() >= deadline:
                raise RpcError(route, "deadline_exceeded", f"no reply within {timeout_ms} ms", retriable=True)
            self.connection.process_data_events(time_limit=0.05)
        envelope = json.loads(self.replies.pop(correlation_id))
        if envelope.get("ok") is True:
            return envelope["result"]
        error = envelope.get("error") or {}
        raise RpcError(
            route,
            error.get("code", "internal"),
            error.get("message", "malformed reply"),
            error.get("details"),
            error.get("retriable") is True,
        )

    def close(self):
        self.connection.close()


class Responder:
    """Serves one route: consumes its queue, answers each request on its reply_to, acks after replying."""

    def __init__(self, url, route, handler, prefetch=16):
        self.route = route
        self.handler = handler
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.queue_declare(route, durable=True, arguments={"x-queue-type": "quorum"})
        self.channel.basic_qos(prefetch_count=prefetch)
        self.channel.basic_consume(route, self._on_request)

    def _reply(self, properties, envelope):
        self.channel.basic_publish(
            "",
            properties.reply_to,
            json.dumps(envelope),
            pika.BasicProperties(correlation_id=properties.correlation_id, content_type=JSON),
        )

    def _on_request(self, channel, method, properties, body):
        headers = properties.headers or {}
        if not properties.reply_to or not properties.correlation_id:
            # Nobody to answer: the broker dead-letters what is rejected without requeue.
            channel.basic_reject(method.delivery_tag, requeue=False)
            return
        deadline = headers.get(DEADLINE_HEADER)
        if isinstance(deadline, int) and deadline <= now_ms():
            # Nobody waits for it any more.
            channel.basic_ack(method.delivery_tag)
            return
        try:
            result = self.handler(json.loads(body), headers)
            envelope = {"ok": True, "result": result}
        except RpcError as error:
            envelope = {"ok": False, "error": {"code": error.code, "message": error.message,
                                               "details": error.details, "retriable": error.retriable}}
        except Exception:  # noqa: BLE001 - nothing internal crosses the wire
            envelope = {"ok": False, "error": {"code": "internal", "message": "internal error", "retriable": False}}
        self._reply(properties, envelope)
        channel.basic_ack(method.delivery_tag)

    def serve(self, seconds):
        """Serves until `seconds` have passed (bounded: a test's responder stops by itself)."""
        self.connection.process_data_events(time_limit=0)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.connection.process_data_events(time_limit=0.1)

    def close(self):
        self.connection.close()
