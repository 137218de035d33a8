"""A handler run by the official AWS runtime interface client (awslambdaric)."""


def handler(event, context):
    return {"ric": True, "requestId": context.aws_request_id, "event": event}
