"""The benchmark's function (Benchmarks/runtime.sh): returns its event unchanged."""


def echo(event, context):
    return event
