def handler(event, context):
    return {"function": "coded"}
