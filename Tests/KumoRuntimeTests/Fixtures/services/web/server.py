"""A small HTTP server for the service tests: who answered, and a health check that a file can fail."""
import http.server
import json
import os
import sys
import time
import urllib.parse

PORT = int(sys.argv[sys.argv.index("--port") + 1])
if os.environ.get("VERSION") == "broken":
    sys.exit("this version exits at once")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/healthz":
            failing = os.path.exists(f"unhealthy-{PORT}")
            self.reply(500 if failing else 200, {"healthy": not failing})
        elif self.path.startswith("/big"):
            # 3 MB in 64 KB writes without a length: the proxy must stream it, chunked.
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = bytes(range(256)) * 256
            for _ in range(48):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path.startswith("/slow"):
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            time.sleep(float(query.get("s", ["0.2"])[0]))
            self.reply(200, self.who())
        else:
            self.reply(200, self.who())

    def do_POST(self):
        # What arrived: path, body and headers, for the front port's tests.
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        self.reply(200, {"path": self.path, "body": body, "headers": {k.lower(): v for k, v in self.headers.items()}, "port": PORT})

    def who(self):
        label = sys.argv[sys.argv.index("--label") + 1] if "--label" in sys.argv else None
        return {"port": PORT, "pid": os.getpid(), "version": os.environ.get("VERSION"), "self_port": os.environ.get("SELF_PORT"), "label": label}

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
