"""A replica for the apply tests: answers with its VERSION, or exits at once when VERSION=broken."""
import http.server
import os
import sys

if os.environ.get("VERSION") == "broken":
    sys.exit("this version exits at once")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = os.environ.get("VERSION", "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
