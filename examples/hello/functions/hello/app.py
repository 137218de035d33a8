"""Hello function: an AWS Lambda handler for API Gateway HTTP API (payload format 2.0) events.

GET /hello            -> {"message": "Hello, world!"}
GET /hello?name=Kumo  -> {"message": "Hello, Kumo!"}
"""

import json

MAX_NAME_LENGTH = 64


def handler(event, context):
    params = event.get("queryStringParameters") or {}
    name = (params.get("name") or "").strip() or "world"
    if len(name) > MAX_NAME_LENGTH:
        return _response(400, {"error": f"name is longer than {MAX_NAME_LENGTH} characters"})

    request = event.get("requestContext") or {}
    return _response(200, {
        "message": f"Hello, {name}!",
        "requestId": request.get("requestId"),
    })


def _response(status, payload):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json; charset=utf-8", "cache-control": "no-store"},
        "body": json.dumps(payload),
    }
