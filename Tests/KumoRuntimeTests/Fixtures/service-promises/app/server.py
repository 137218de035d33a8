"""A replica for ServicePromiseTests.

First of all it prints the descriptors it was started with (probed with fstat, which opens
none, unlike listing /proc/self/fd). --exit-after S --exit-code C: exits S seconds after it
starts, with status C, saying so on stderr. GET /hog?mb=N allocates N MB and holds them;
POST /length answers how many body bytes arrived."""
import os

_held = []


def _descriptors():
    found = []
    for fd in range(1024):
        try:
            os.fstat(fd)
        except OSError:
            continue
        found.append(fd)
    return found


print("descriptors at start: %s" % _descriptors(), flush=True)

import http.server  # noqa: E402  (after the probe: imports may open files)
import json  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

PORT = int(sys.argv[sys.argv.index("--port") + 1])


def _option(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


if _option("--exit-after") is not None:
    delay, code = float(_option("--exit-after")), int(_option("--exit-code", "0"))

    def _leave():
        time.sleep(delay)
        print("fatal: leaving after %s s with status %d" % (delay, code), file=sys.stderr, flush=True)
        os._exit(code)
    threading.Thread(target=_leave, daemon=True).start()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.startswith("/hog"):
            megabytes = int(self.path.split("mb=")[1])
            _held.append(b"x" * (megabytes * 1024 * 1024))
            time.sleep(60)
        self.reply({"port": PORT, "pid": os.getpid()})

    def do_POST(self):
        remaining = int(self.headers.get("Content-Length", "0"))
        received = 0
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            received += len(chunk)
            remaining -= len(chunk)
        self.reply({"length": received})

    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
