"""Reports the code version it was imported with; optionally holds the call until a file exists."""
import os
import time

with open("version.txt") as f:
    VERSION = f.read().strip()  # read once, at import: a worker keeps the code it started with


def revision(event, context):
    waited = 0.0
    while event.get("holdUntil") and not os.path.exists(event["holdUntil"]):
        time.sleep(0.02)
        waited += 0.02
        if waited > 50:
            raise TimeoutError("%s never appeared" % event["holdUntil"])
    return {"version": VERSION}
