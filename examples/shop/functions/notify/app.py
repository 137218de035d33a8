"""Customer notifications, the target of the `big-order` and `order-cancelled` rules.

Accepts either the transformed input of `big-order`
    {"kind": "big-order", "orderId": "...", "email": "...", "total": 123.5}
or the `detail` of an OrderCancelled event (rule `order-cancelled`, inputPath `$.detail`)
    {"id": "...", "customer": {"email": "..."}, "reason": "...", "total": 42.0}

Messages are "sent" by writing them to the log as JSON lines, where a mail relay would pick them
up. An input without a recipient raises, so the delivery is retried and finally dead-lettered.
"""

import json
import logging
import os

logger = logging.getLogger()
logger.setLevel(os.environ.get("LOG_LEVEL", "info").upper())

SENDER = os.environ.get("SENDER", "orders@shop.example")


def handler(event, context):
    message = _message(event)
    print(json.dumps({"type": "email", "from": SENDER, **message}), flush=True)
    logger.info("notified %s about order %s", message["to"], message["orderId"])
    return {"sent": True, "to": message["to"], "orderId": message["orderId"]}


def _message(event):
    if not isinstance(event, dict):
        raise ValueError(f"expected a JSON object, got {type(event).__name__}")
    if event.get("kind") == "big-order":
        order_id, email = event.get("orderId"), event.get("email")
        subject = f"Thank you for your order {order_id}"
        text = (f"Your order of {event.get('total')} is on its way to our priority desk; "
                "we will confirm shipping within one business day.")
    else:
        order_id = event.get("id")
        email = (event.get("customer") or {}).get("email")
        reason = event.get("reason") or "no reason given"
        subject = f"Your order {order_id} was cancelled"
        text = f"Order {order_id} was cancelled ({reason}). Any payment will be refunded within 5 days."
    if not email or not order_id:
        raise ValueError(f"cannot notify: the event has no recipient or order id: {json.dumps(event)[:200]}")
    return {"to": email, "orderId": order_id, "subject": subject, "text": text}
