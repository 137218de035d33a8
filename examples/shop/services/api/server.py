"""The `api` service: the storefront API in front of the `orders` service (ORDERS_URL).

    GET  /healthz                      liveness and readiness (stateless: always ok when serving)
    GET  /catalog                      the orders service's catalog, cached for CATALOG_TTL seconds
    GET  /customers/{email}/orders     a customer's orders, summarised
    POST /hooks/big-order              OrderPlaced event (rule `big-order`): flags the order priority
"""

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

ORDERS_URL = os.environ.get("ORDERS_URL", "http://127.0.0.1:8082").rstrip("/")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "info").lower()
CATALOG_TTL = float(os.environ.get("CATALOG_TTL", "30"))
MAX_BODY = 256 * 1024


class OrdersError(Exception):
    """The orders service answered with an error status, or not at all (status 502)."""

    def __init__(self, status, payload):
        super().__init__(f"orders service answered {status}")
        self.status = status
        self.payload = payload


def orders(method, path, payload=None):
    """Calls the orders service and returns its JSON answer; raises OrdersError on failure."""
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(ORDERS_URL + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=3) as reply:
            return json.load(reply)
    except urllib.error.HTTPError as error:
        try:
            body = json.load(error)
        except ValueError:
            body = {"error": error.reason}
        raise OrdersError(error.code, body) from None
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise OrdersError(502, {"error": f"orders service unavailable: {error}"}) from None


class CatalogCache:
    """The catalog, refreshed at most every `ttl` seconds; safe to use from several threads."""

    def __init__(self, ttl):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._value = None
        self._fetched = 0.0

    def get(self):
        with self._lock:
            if self._value is None or time.monotonic() - self._fetched > self.ttl:
                self._value = orders("GET", "/catalog")
                self._fetched = time.monotonic()
            return self._value


CATALOG = CatalogCache(CATALOG_TTL)


class Handler(BaseHTTPRequestHandler):
    server_version = "shop-api/1.0"
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = urlsplit(self.path).path
        try:
            if path == "/healthz":
                return self.reply(200, {"status": "ok"})
            if path == "/catalog":
                return self.reply(200, CATALOG.get(), {"cache-control": f"max-age={int(CATALOG_TTL)}"})
            match = re.fullmatch(r"/customers/([^/]+)/orders", path)
            if match:
                email = unquote(match[1]).lower()
                found = orders("GET", "/orders?email=" + quote(email))["orders"]
                summary = [{k: o[k] for k in ("id", "status", "total", "currency", "createdAt")} for o in found]
                return self.reply(200, {"customer": email, "orders": summary})
            self.reply(404, {"error": f"no route GET {path}"})
        except OrdersError as error:
            self.reply(502 if error.status >= 500 else error.status, error.payload)

    def do_POST(self):
        path = urlsplit(self.path).path
        if path != "/hooks/big-order":
            return self.reply(404, {"error": f"no route POST {path}"})
        try:
            event = self.read_json()
        except ValueError as error:
            return self.reply(400, {"error": str(error)})
        order_id = (event.get("detail") or {}).get("id")
        if not isinstance(order_id, str) or not re.fullmatch(r"[A-Za-z0-9_]+", order_id):
            return self.reply(400, {"error": "the event has no usable detail.id"})
        try:
            order = orders("POST", f"/orders/{order_id}/priority")
        except OrdersError as error:
            # 404: the order is gone, retrying will not help; anything else is retried by the bus.
            return self.reply(422 if error.status == 404 else 502, error.payload)
        self.log(f"order {order_id} flagged for priority handling (total {order['total']})")
        self.reply(200, {"id": order_id, "priority": True})

    def read_json(self):
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise ValueError(f"the body is larger than {MAX_BODY} bytes")
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object (an event)")
        return body

    def reply(self, status, payload, headers=None):
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log(self, message):
        if LOG_LEVEL in ("debug", "info"):
            sys.stderr.write(f"api: {message}\n")

    def log_message(self, format, *args):
        if not self.path.startswith("/healthz"):
            self.log(f"{self.address_string()} {format % args}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="port to listen on (127.0.0.1)")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    # shutdown() waits for serve_forever() to return, so it must run outside the signal handler.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"api: listening on http://127.0.0.1:{args.port} (orders at {ORDERS_URL})", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("api: stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
