"""PutEvents load for Benchmarks/eventbus.sh: N events in 10-entry batches over keep-alive
connections (one per thread), raw HTTP/1.1 with the JSON 1.1 body boto3 would send. Prints one
JSON line: events accepted, failures, seconds, events/s."""
import http.client
import json
import sys
import threading
import time

port, total, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
batches = total // 10
lock = threading.Lock()
state = {"next": 0, "accepted": 0, "failed": 0}


def worker():
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.PutEvents"}
    while True:
        with lock:
            b = state["next"]
            state["next"] += 1
        if b >= batches:
            return
        entries = [{"Source": "bench.orders", "DetailType": "OrderPlaced",
                    "Detail": json.dumps({"n": b * 10 + i, "total": 120 + i, "pad": "x" * 200})} for i in range(10)]
        conn.request("POST", "/", json.dumps({"Entries": entries}), headers)
        answer = json.loads(conn.getresponse().read())
        with lock:
            state["failed"] += answer["FailedEntryCount"]
            state["accepted"] += 10 - answer["FailedEntryCount"]


start = time.monotonic()
pool = [threading.Thread(target=worker) for _ in range(threads)]
for t in pool:
    t.start()
for t in pool:
    t.join()
seconds = time.monotonic() - start
print(json.dumps({"accepted": state["accepted"], "failed": state["failed"], "seconds": seconds, "per_second": state["accepted"] / seconds}))
