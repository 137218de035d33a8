def handler(event, context):
    return {"function": "spec"}
