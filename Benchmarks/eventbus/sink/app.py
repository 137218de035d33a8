def handler(event, context):
    return {"n": event.get("detail", {}).get("n")}
