"""Scheduled maintenance: expires orders that stayed unpaid longer than PENDING_TTL_SECONDS.

Triggered by an EventBridge-style scheduled event (`detail-type: "Scheduled Event"`); the event
itself carries nothing the handler needs beyond its time, which is logged.
"""

import json
import logging
import os
import urllib.request

logger = logging.getLogger()
logger.setLevel(os.environ.get("LOG_LEVEL", "info").upper())

ORDERS_URL = os.environ.get("ORDERS_URL", "http://127.0.0.1:8082").rstrip("/")


def expire_pending(event, context):
    ttl = int(os.environ.get("PENDING_TTL_SECONDS", "1800"))
    request = urllib.request.Request(
        f"{ORDERS_URL}/maintenance/expire-pending",
        data=json.dumps({"olderThanSeconds": ttl}).encode("utf-8"),
        method="POST",
        headers={"content-type": "application/json"},
    )
    # Errors propagate: the invocation fails and the runtime's invokeConfig decides what happens.
    with urllib.request.urlopen(request, timeout=5) as reply:
        result = json.load(reply)
    logger.info("scheduled run at %s expired %d order(s)", event.get("time"), result["expired"])
    return {"expired": result["expired"], "ids": result.get("ids", [])}
