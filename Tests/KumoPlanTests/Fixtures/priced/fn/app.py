def main(event, context):
    return event
