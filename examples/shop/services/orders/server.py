"""The `orders` service: catalog and order store of the shop (in memory, one replica).

    GET  /healthz                         liveness and readiness
    GET  /catalog                         products and prices
    GET  /orders[?email=&status=]         orders, newest first
    POST /orders                          {"customer": {"email"}, "items": [{"sku", "quantity"}]} -> 201
    GET  /orders/{id}
    POST /orders/{id}/pay                 pending -> paid
    POST /orders/{id}/priority            flags an order for priority handling
    POST /maintenance/expire-pending      {"olderThanSeconds": n}: pending orders older than n -> expired
    POST /hooks/order-cancelled           OrderCancelled event (rule `order-cancelled`) -> cancelled
"""

import argparse
import datetime
import json
import os
import re
import secrets
import signal
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CURRENCY = os.environ.get("CURRENCY", "USD")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "info").lower()
MAX_BODY = 64 * 1024

CATALOG = {
    "tea-sencha": {"name": "Sencha green tea, 100 g", "price": 12.50},
    "tea-hojicha": {"name": "Hojicha roasted tea, 100 g", "price": 14.00},
    "kyusu-200": {"name": "Tokoname kyusu teapot, 200 ml", "price": 68.00},
    "cup-set": {"name": "Set of two tea cups", "price": 24.00},
}


class OrderStore:
    """Orders by id; every method is safe to call from several request threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._orders = {}

    def create(self, email, items):
        now = _now()
        lines = [
            {"sku": i["sku"], "quantity": i["quantity"], "price": CATALOG[i["sku"]]["price"]}
            for i in items
        ]
        order = {
            "id": "ord_" + secrets.token_hex(6),
            "customer": {"email": email},
            "items": lines,
            "total": round(sum(line["price"] * line["quantity"] for line in lines), 2),
            "currency": CURRENCY,
            "status": "pending",
            "priority": False,
            "createdAt": now.isoformat(timespec="seconds"),
            "updatedAt": now.isoformat(timespec="seconds"),
        }
        with self._lock:
            self._orders[order["id"]] = order
            return dict(order)

    def get(self, order_id):
        with self._lock:
            order = self._orders.get(order_id)
            return dict(order) if order else None

    def list(self, email=None, status=None):
        with self._lock:
            orders = [dict(o) for o in self._orders.values()
                      if (email is None or o["customer"]["email"] == email)
                      and (status is None or o["status"] == status)]
        return sorted(orders, key=lambda o: o["createdAt"], reverse=True)

    def update(self, order_id, allowed_from=None, **changes):
        """Applies changes; returns (order, None), (None, "missing") or (order, "conflict")."""
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return None, "missing"
            if allowed_from is not None and order["status"] not in allowed_from:
                return dict(order), "conflict"
            order.update(changes, updatedAt=_now().isoformat(timespec="seconds"))
            return dict(order), None

    def expire_pending(self, older_than):
        cutoff = _now() - datetime.timedelta(seconds=older_than)
        expired = []
        with self._lock:
            for order in self._orders.values():
                created = datetime.datetime.fromisoformat(order["createdAt"])
                if order["status"] == "pending" and created < cutoff:
                    order.update(status="expired", updatedAt=_now().isoformat(timespec="seconds"))
                    expired.append(order["id"])
        return expired


STORE = OrderStore()


class Handler(BaseHTTPRequestHandler):
    server_version = "shop-orders/1.0"
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/healthz":
            return self.reply(200, {"status": "ok", "orders": len(STORE.list())})
        if url.path == "/catalog":
            return self.reply(200, {"currency": CURRENCY,
                                    "products": [{"sku": sku, **p} for sku, p in CATALOG.items()]})
        if url.path == "/orders":
            return self.reply(200, {"orders": STORE.list(query.get("email"), query.get("status"))})
        match = re.fullmatch(r"/orders/([A-Za-z0-9_]+)", url.path)
        if match:
            order = STORE.get(match[1])
            return self.reply(200, order) if order else self.reply(404, {"error": f"no order '{match[1]}'"})
        self.reply(404, {"error": f"no route GET {url.path}"})

    def do_POST(self):
        path = urlsplit(self.path).path
        try:
            body = self.read_json()
        except ValueError as error:
            return self.reply(400, {"error": str(error)})

        if path == "/orders":
            return self.create_order(body)
        match = re.fullmatch(r"/orders/([A-Za-z0-9_]+)/(pay|priority)", path)
        if match:
            order_id, action = match[1], match[2]
            if action == "pay":
                order, problem = STORE.update(order_id, allowed_from={"pending"}, status="paid")
            else:
                order, problem = STORE.update(order_id, priority=True)
            return self.reply_update(order_id, order, problem)
        if path == "/maintenance/expire-pending":
            older_than = body.get("olderThanSeconds", 1800)
            if isinstance(older_than, bool) or not isinstance(older_than, int) or older_than < 0:
                return self.reply(400, {"error": "olderThanSeconds must be a non-negative integer"})
            ids = STORE.expire_pending(older_than)
            return self.reply(200, {"expired": len(ids), "ids": ids})
        if path == "/hooks/order-cancelled":
            order_id = (body.get("detail") or {}).get("id")
            if not isinstance(order_id, str):
                return self.reply(400, {"error": "the event has no detail.id"})
            order, problem = STORE.update(
                order_id, allowed_from={"pending", "paid"}, status="cancelled",
                cancelReason=(body.get("detail") or {}).get("reason"))
            if problem == "conflict":  # already cancelled or expired: the event is a no-op
                return self.reply(200, order)
            return self.reply_update(order_id, order, problem)
        self.reply(404, {"error": f"no route POST {path}"})

    def create_order(self, body):
        customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
        email, items = customer.get("email"), body.get("items")
        if not isinstance(email, str) or "@" not in email:
            return self.reply(422, {"error": "customer.email is required"})
        if not isinstance(items, list) or not items:
            return self.reply(422, {"error": "items must be a non-empty list"})
        for item in items:
            if not isinstance(item, dict) or item.get("sku") not in CATALOG:
                sku = item.get("sku") if isinstance(item, dict) else item
                return self.reply(422, {"error": f"unknown product '{sku}'", "catalog": sorted(CATALOG)})
            quantity = item.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                return self.reply(422, {"error": f"bad quantity for '{item['sku']}'"})
        order = STORE.create(email, items)
        self.reply(201, order, {"location": f"/orders/{order['id']}"})

    def reply_update(self, order_id, order, problem):
        if problem == "missing":
            return self.reply(404, {"error": f"no order '{order_id}'"})
        if problem == "conflict":
            return self.reply(409, {"error": f"order '{order_id}' is {order['status']}", "order": order})
        self.reply(200, order)

    def read_json(self):
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise ValueError(f"the body is larger than {MAX_BODY} bytes")
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
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

    def log_message(self, format, *args):
        if LOG_LEVEL in ("debug", "info") and not self.path.startswith("/healthz"):
            sys.stderr.write(f"orders: {self.address_string()} {format % args}\n")


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="port to listen on (127.0.0.1)")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    # shutdown() waits for serve_forever() to return, so it must run outside the signal handler.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"orders: listening on http://127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("orders: stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
