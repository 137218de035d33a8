import json
import os


def handler(event, context):
    with open(os.environ["OUT"], "a") as f:
        f.write(json.dumps(event, sort_keys=True) + "\n")
    return {"ok": True}
