"""Serves a route from Python that @warren/rpc calls, continuing the caller's trace into a nested call back.

Usage: python responder.py <AMQP URL> <route> <nested route> <seconds>. For each request {"text"}: a span of its own
in the caller's trace (from ``traceparent``), a nested call of <nested route> carrying that span as its parent and
the request's deadline, and the reply {"text", "traceId", "spanId", "nested"}. A request without text is a typed
invalid_argument. Prints "ready" once it consumes; stops by itself after <seconds>.
"""

import sys

from warren_rpc import DEADLINE_HEADER, Caller, Responder, RpcError, TraceParent


def main(url, route, nested_route, seconds):
    nested = Caller(url)

    def handle(request, headers):
        text = request.get("text")
        if not isinstance(text, str) or text == "":
            raise RpcError(route, "invalid_argument", "text is required", [{"path": "text", "message": "required"}])
        parent = TraceParent.parse(headers.get("traceparent"))
        span = parent.child() if parent else None
        forwarded = {"traceparent": span.header()} if span else {}
        answer = nested.call(nested_route, {"text": text}, headers=forwarded, deadline=headers.get(DEADLINE_HEADER))
        return {
            "text": text,
            "traceId": span.trace_id if span else None,
            "spanId": span.span_id if span else None,
            "nested": answer,
        }

    responder = Responder(url, route, handle)
    print("ready", flush=True)
    try:
        responder.serve(seconds)
    finally:
        responder.close()
        nested.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]))
