"""A handler whose workers start, and whose calls answer, only when the test opens a gate.

A gate is a file in the project's gates/ directory: `start` lets a worker finish its init (this
import), `call` lets a call return. The concurrency-cap test uses them to keep both workers of a
function taken for exactly as long as it needs, however slow the machine."""
import os
import time

GATES = os.path.join(os.environ.get("LAMBDA_TASK_ROOT", "."), "..", "gates")


def wait_for(name, limit=60):
    path = os.path.join(GATES, name)
    deadline = time.monotonic() + limit
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the gate {name} was not opened within {limit} s")
        time.sleep(0.01)


wait_for("start")


def handler(event, context):
    wait_for("call")
    return {"gated": event.get("call"), "requestId": context.aws_request_id}
