"""The benchmark's replica: a small HTTP/1.1 server on Python's standard library.

GET / answers a short JSON document. Headers and body leave in one write with Nagle off (the
stdlib default writes them separately, and the second write then waits for the client's
delayed ACK: 40 ms per request), and the listen backlog holds a burst of connections.
"""
import http.server
import sys

PORT = int(sys.argv[1])
BODY = b'{"service": "web", "ok": true}'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128


Server(("127.0.0.1", PORT), Handler).serve_forever()
