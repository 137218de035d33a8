import os


def handler(event, context):
    return {"greeting": "hello", "memory": context.memory_limit_in_mb, "token": os.environ.get("TOKEN")}
