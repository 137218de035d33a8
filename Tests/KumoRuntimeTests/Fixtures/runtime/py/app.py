"""Handlers for the runtime tests."""
import json
import os
import threading
import time


def echo(event, context):
    return {
        "event": event,
        "requestId": context.aws_request_id,
        "function": context.function_name,
        "memory": context.memory_limit_in_mb,
        "remainingMs": context.get_remaining_time_in_millis(),
        "environment": sorted(os.environ),
        "greeting": os.environ.get("GREETING"),
        "tokenSet": os.environ.get("TOKEN") == "s3cret-value",
        "pid": os.getpid(),
    }


_hog = []


def wait_for_gate(name, limit=60):
    """Waits until the test opens the gate `name`: a file in the project's gates/ directory."""
    path = os.path.join(os.environ.get("LAMBDA_TASK_ROOT", "."), "..", "gates", name)
    deadline = time.monotonic() + limit
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the gate {name} was not opened within {limit} s")
        time.sleep(0.01)


def behave(event, context):
    """What the event asks for: wait for a gate, sleep, crash, raise, allocate memory, or print
    many lines and one more from a thread after returning."""
    if event.get("waitFor"):
        wait_for_gate(event["waitFor"])
    if event.get("chatter"):
        rid = context.aws_request_id
        for i in range(event["chatter"]):
            print("chatter", i, rid)

        def later():
            time.sleep(event.get("printAfter", 0.3))
            print("after return", rid)
        threading.Thread(target=later).start()
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("crash"):
        os._exit(3)
    if event.get("raise"):
        raise ValueError(event["raise"])
    if event.get("allocateMB"):
        _hog.append(bytearray(event["allocateMB"] * 1024 * 1024))
        time.sleep(1)
    print("behaved", json.dumps(event))
    return {"ok": True, "pid": os.getpid()}


def reflect(event, context):
    """Echoes query parameters into a response header and a cookie (the hostile-handler test)."""
    q = event.get("queryStringParameters") or {}
    response = {"statusCode": 200, "headers": {"X-Test": q.get("v", "none")}, "body": "x"}
    if "c" in q:
        response["cookies"] = [q["c"]]
    return response


def escape(event, context):
    """Leaves a grandchild that detached from the worker: fork, setsid, fork, exec sleep (issue 15.2).

    The grandchild keeps the worker's stdout and stderr open, as a careless daemon would."""
    child = os.fork()
    if child == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", event["marker"]])
        os._exit(0)
    os.waitpid(child, 0)
    return {"ok": True}


def peek(event, context):
    """What a hostile handler can see of the runtime and of other workers (issue 15.7)."""
    readable = {}
    for path in event.get("read", []):
        try:
            with open(path, "rb") as f:
                readable[path] = len(f.read())
        except OSError as error:
            readable[path] = error.strerror
    secrets = {}
    for pid in event.get("environOf", []):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                secrets[str(pid)] = event["secret"].encode() in f.read()
        except OSError as error:
            secrets[str(pid)] = error.strerror
    processes = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
    return {"readable": readable, "secretSeen": secrets, "processes": processes, "pid": os.getpid()}
