import json
import os


def handler(event, context):
    # {"key": K, "failures": N}: the first N attempts for K raise (the attempts are counted in a file).
    if isinstance(event, dict) and "failures" in event:
        counter = os.environ["OUT"] + "." + event["key"]
        attempts = int(open(counter).read()) if os.path.exists(counter) else 0
        with open(counter, "w") as f:
            f.write(str(attempts + 1))
        if attempts < event["failures"]:
            raise RuntimeError(f"attempt {attempts + 1} of {event['key']} fails")
    with open(os.environ["OUT"], "a") as f:
        f.write(json.dumps(event, sort_keys=True) + "\n")
    return {"ok": True}
