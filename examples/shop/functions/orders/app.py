"""Order endpoints: AWS Lambda handlers for API Gateway HTTP API (payload format 2.0) events.

Both handlers are thin: they check the request, then call the `orders` service (ORDERS_URL),
which owns the catalog and the order store.

POST /orders        body {"customer": {"email": "..."}, "items": [{"sku": "...", "quantity": 1}]}
GET  /orders/{id}
"""

import base64
import json
import logging
import os
import re
import urllib.error
import urllib.request

logger = logging.getLogger()
logger.setLevel(os.environ.get("LOG_LEVEL", "info").upper())

ORDERS_URL = os.environ.get("ORDERS_URL", "http://127.0.0.1:8082").rstrip("/")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ORDER_ID = re.compile(r"^ord_[0-9a-f]{12}$")
MAX_ITEMS = 50


def create_order(event, context):
    try:
        body = _json_body(event)
    except ValueError as error:
        return _response(400, {"error": str(error)})

    problems = _order_problems(body)
    if problems:
        return _response(422, {"error": "invalid order", "problems": problems})

    order = {
        "customer": {"email": body["customer"]["email"].strip().lower()},
        "items": [{"sku": item["sku"], "quantity": item["quantity"]} for item in body["items"]],
    }
    status, payload = _call("POST", "/orders", order)
    if status == 201:
        logger.info("created order %s total=%s", payload.get("id"), payload.get("total"))
        return _response(201, payload, {"location": f"/orders/{payload.get('id')}"})
    if status in (400, 404, 422):
        return _response(422, payload)
    return _response(502, {"error": "orders service unavailable"})


def get_order(event, context):
    order_id = (event.get("pathParameters") or {}).get("id", "")
    if not ORDER_ID.match(order_id):
        return _response(404, {"error": f"no order '{order_id}'"})
    status, payload = _call("GET", f"/orders/{order_id}")
    if status in (200, 404):
        return _response(status, payload)
    return _response(502, {"error": "orders service unavailable"})


def _order_problems(body):
    problems = []
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    customer = body.get("customer")
    email = customer.get("email") if isinstance(customer, dict) else None
    if not isinstance(email, str) or not EMAIL.match(email.strip()):
        problems.append("customer.email must be an email address")
    items = body.get("items")
    if not isinstance(items, list) or not items:
        problems.append("items must be a non-empty list")
        return problems
    if len(items) > MAX_ITEMS:
        problems.append(f"at most {MAX_ITEMS} items per order")
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str) or not item["sku"]:
            problems.append(f"items[{index}].sku must be a non-empty string")
        quantity = item.get("quantity") if isinstance(item, dict) else None
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 100:
            problems.append(f"items[{index}].quantity must be an integer from 1 to 100")
    return problems


def _json_body(event):
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8")
    if not raw.strip():
        raise ValueError("the request body is empty; send a JSON order")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"the request body is not JSON: {error.msg} at position {error.pos}") from None


def _call(method, path, payload=None):
    """Calls the orders service; returns (status, JSON payload), status 0 if it is unreachable."""
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(
        ORDERS_URL + path, data=data, method=method,
        headers={"content-type": "application/json", "accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.load(error)
        except ValueError:
            return error.code, {"error": error.reason}
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        logger.error("orders service %s %s failed: %s", method, path, error)
        return 0, {}


def _response(status, payload, headers=None):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(payload),
    }
