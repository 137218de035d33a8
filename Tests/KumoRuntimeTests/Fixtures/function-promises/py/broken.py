"""A module that raises while it is imported: every worker fails its init."""
raise LookupError("no settings at import time")


def handler(event, context):
    return {"unreachable": True}
