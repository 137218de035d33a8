"""An exec function: the event on stdin, the result on stdout."""
import json
import sys
import time

event = json.load(sys.stdin)
print("exec log line", file=sys.stderr)
if event.get("allocateMB"):
    hog = bytearray(event["allocateMB"] * 1024 * 1024)
    time.sleep(2)
if event.get("sleep"):
    time.sleep(event["sleep"])
print(json.dumps({"sum": sum(event.get("numbers", []))}))
