"""Handlers for the README's promises (FunctionPromiseTests)."""
import os


def secretive(event, context):
    return {"token": os.environ.get("TOKEN")}


def large(event, context):
    """A JSON string of `size` characters: the result is size + 2 bytes."""
    return "x" * event["size"]


def failing(event, context):
    raise ValueError("failing on purpose")


def route(event, context):
    return {"function": context.function_name, "routeKey": event.get("routeKey"),
            "pathParameters": event.get("pathParameters")}


def say(event, context):
    print(event["say"])
    return {"said": event["say"]}
