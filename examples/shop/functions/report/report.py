"""Nightly sales report, an `exec` function: one process per call.

Reads the scheduled event (JSON) on stdin, fetches the orders from the orders service
(ORDERS_URL) and writes the report for the day before the event's time as JSON on stdout.
Diagnostics go to stderr; a non-zero exit status marks the invocation as failed.
"""

import collections
import datetime
import json
import os
import sys
import urllib.request

ORDERS_URL = os.environ.get("ORDERS_URL", "http://127.0.0.1:8082").rstrip("/")
CURRENCY = os.environ.get("CURRENCY", "USD")


def main():
    raw = sys.stdin.read()
    event = json.loads(raw) if raw.strip() else {}
    now = _parse_time(event.get("time")) or datetime.datetime.now(datetime.timezone.utc)
    day = (now - datetime.timedelta(days=1)).date()

    with urllib.request.urlopen(f"{ORDERS_URL}/orders", timeout=10) as reply:
        orders = json.load(reply)["orders"]

    todays = [o for o in orders if _parse_time(o["createdAt"]).date() == day]
    by_status = collections.Counter(o["status"] for o in todays)
    sold = [o for o in todays if o["status"] in ("pending", "paid")]
    quantities = collections.Counter()
    for order in sold:
        for item in order["items"]:
            quantities[item["sku"]] += item["quantity"]

    report = {
        "day": day.isoformat(),
        "currency": CURRENCY,
        "orders": len(todays),
        "byStatus": dict(sorted(by_status.items())),
        "revenue": round(float(sum(o["total"] for o in sold)), 2),
        "topProducts": [{"sku": sku, "quantity": n} for sku, n in quantities.most_common(5)],
    }
    print(f"report for {day}: {report['orders']} orders, revenue {report['revenue']} {CURRENCY}", file=sys.stderr)
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


def _parse_time(text):
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # report any failure on stderr with a failing exit status
        print(f"nightly report failed: {error}", file=sys.stderr)
        sys.exit(1)
