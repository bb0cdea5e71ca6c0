"""Calls the real users worker from Python: users.create, users.get, and the typed errors of both.

Usage: python caller.py <AMQP URL> <email>. Prints one JSON object per outcome, for the test to read.
"""

import json
import sys
import uuid

from warren_rpc import Caller, RpcError


def outcome(caller, route, payload, **options):
    try:
        return {"route": route, "ok": True, "result": caller.call(route, payload, **options)}
    except RpcError as error:
        return {"route": route, "ok": False, "code": error.code, "message": error.message,
                "details": error.details, "retriable": error.retriable}


def main(url, email):
    caller = Caller(url)
    try:
        key = {"x-idempotency-key": f"python-{uuid.uuid4()}"}
        created = outcome(caller, "users.create", {"name": "Py Thon", "email": email}, headers=key)
        print(json.dumps({"step": "create", **created}))
        # The same command again, same key: the first outcome, not a second user.
        print(json.dumps({"step": "create-again", **outcome(caller, "users.create",
                                                            {"name": "Py Thon", "email": email}, headers=key)}))
        if created["ok"]:
            print(json.dumps({"step": "get", **outcome(caller, "users.get", {"id": created["result"]["id"]})}))
        print(json.dumps({"step": "get-unknown", **outcome(caller, "users.get", {"id": str(uuid.uuid4())})}))
        print(json.dumps({"step": "create-invalid", **outcome(caller, "users.create",
                                                              {"name": "", "email": "not-an-email"})}))
        print(json.dumps({"step": "unknown-route", **outcome(caller, "users.nothingHere", {}, timeout_ms=2000)}))
    finally:
        caller.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
