"""A rule target: records each POST it answers 2xx, one JSON line per body, in OUT/hooks.jsonl.

It answers with the status written in OUT/hooks-status (200 when the file is missing), so a
test can make it fail and then fix it."""
import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()


def status():
    try:
        with open(os.path.join(args.out, "hooks-status")) as f:
            return int(f.read().strip() or "200")
    except FileNotFoundError:
        return 200


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, code, body=b"{}"):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200, b'{"ok": true}')

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        code = status()
        if 200 <= code < 300:
            record = {"path": self.path, "event_id": self.headers.get("X-Kumo-Event-Id"), "body": json.loads(body)}
            with open(os.path.join(args.out, "hooks.jsonl"), "a") as f:
                f.write(json.dumps(record, sort_keys=True) + "\n")
        self.answer(code)


ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
