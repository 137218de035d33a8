"""An exec function: the event on stdin, the result on stdout."""
import json
import sys

event = json.load(sys.stdin)
print("exec log line", file=sys.stderr)
print(json.dumps({"sum": sum(event.get("numbers", []))}))
