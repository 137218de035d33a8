#!/usr/bin/env python3
"""Tests for Kumo's language bootstraps (Sources/KumoRuntime/Bootstraps) against a fake Lambda Runtime API.

Run: python3 Tests/Bootstraps/test_bootstraps.py   (standard library only; exit status 0 when green)

Each test starts an in-process fake Runtime API (threaded http.server on 127.0.0.1:0) that queues events and
records responses, errors and init errors, then spawns a bootstrap exactly as Kumo's runtime does: argv
`python3|node <bootstrap>`, cwd = the code directory, and a fresh environment holding only the contract's
variables. The fixtures are copied to a temporary directory so that nothing is written into the repository.

KUMO_TEST_PYTHON / KUMO_TEST_NODE choose the interpreters (defaults: this Python, `node` on PATH).
The Node cases are skipped, with a message, only when node cannot be found.
"""
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BOOTSTRAPS = os.path.join(ROOT, "Sources", "KumoRuntime", "Bootstraps")
PYTHON_BOOTSTRAP = os.path.join(BOOTSTRAPS, "kumo_python_bootstrap.py")
NODE_BOOTSTRAP = os.path.join(BOOTSTRAPS, "kumo_node_bootstrap.js")
PYTHON = os.environ.get("KUMO_TEST_PYTHON") or sys.executable
NODE = os.environ.get("KUMO_TEST_NODE") or shutil.which("node")
PREFIX = "/2018-06-01/runtime"
WAIT = 10  # seconds; every wait in these tests is bounded by this
ARN = "arn:aws:lambda:us-east-1:000000000000:function:fixture-fn"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a worker killed mid-answer is expected
            super().handle_error(request, client_address)


class FakeRuntimeAPI:
    """The Runtime API side of one worker: `invoke` queues an event, `result` waits for what came back."""

    def __init__(self, chunked=False, close_each=False):
        self.chunked = chunked          # send /next bodies with Transfer-Encoding: chunked
        self.close_each = close_each    # answer every request with Connection: close
        self.events = queue.Queue()
        self.records = {}               # request id (or "init") -> (kind, headers, body)
        self.cond = threading.Condition()
        self.closing = False
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.api = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def invoke(self, event, request_id=None, deadline_ms=None, trace_id=None, client_context=None, identity=None,
               raw_body=None):
        request_id = request_id or str(uuid.uuid4())
        headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms if deadline_ms is not None else int(time.time() * 1000) + 30000),
            "Lambda-Runtime-Invoked-Function-Arn": ARN,
        }
        if trace_id:
            headers["Lambda-Runtime-Trace-Id"] = trace_id
        if client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = json.dumps(client_context)
        if identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = json.dumps(identity)
        body = raw_body if raw_body is not None else json.dumps(event).encode()
        self.events.put((headers, body))
        return request_id

    def record(self, key, kind, headers, body):
        with self.cond:
            self.records[key] = (kind, headers, body)
            self.cond.notify_all()

    def result(self, key, timeout=WAIT):
        """(kind, headers, decoded JSON body) posted for a request id, or for "init"; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while key not in self.records:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no response, error or init error for %r within %ss" % (key, timeout))
                self.cond.wait(left)
            kind, headers, body = self.records[key]
        return kind, headers, json.loads(body)

    def close(self):
        """The runtime goes away: stop listening, then drop connections waiting in /next."""
        self.server.shutdown()
        self.server.server_close()
        self.closing = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        api = self.server.api
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if api.chunked and status == 200:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        if api.close_each:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if api.chunked and status == 200:
            for i in range(0, len(body), 7):
                piece = body[i:i + 7]
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")
        else:
            self.wfile.write(body)

    def do_GET(self):
        api = self.server.api
        if self.path != PREFIX + "/invocation/next":
            return self.reply(404, b'{"errorMessage":"not found"}')
        while True:
            try:
                headers, body = api.events.get(timeout=0.05)
                break
            except queue.Empty:
                if api.closing:
                    self.close_connection = True
                    return  # no answer: the worker sees the connection close
        self.reply(200, body, list(headers.items()) + [("Content-Type", "application/json")])

    def do_POST(self):
        api = self.server.api
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        parts = self.path[len(PREFIX):].strip("/").split("/")
        if parts == ["init", "error"]:
            api.record("init", "init_error", self.headers, body)
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            api.record(parts[1], parts[2], self.headers, body)
        else:
            return self.reply(404, b'{"errorMessage":"not found"}')
        self.reply(202, b'{"status":"OK"}')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BootstrapCase(unittest.TestCase):
    """Spawns bootstraps against fake Runtime APIs and always kills them at the end."""
    fixture = None   # directory under fixtures/
    argv = None      # [interpreter, bootstrap]

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kumo-bootstrap-test-")
        cls.code = os.path.join(cls.tmp, "code")
        shutil.copytree(os.path.join(HERE, "fixtures", cls.fixture), cls.code)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.procs = []
        os.environ["KUMO_TEST_MUST_NOT_LEAK"] = "1"  # the workers get a fresh environment, not ours
        self.addCleanup(os.environ.pop, "KUMO_TEST_MUST_NOT_LEAK", None)

    def tearDown(self):
        for proc in self.procs:
            self.stop(proc)

    def contract_env(self, api_address, handler, code, extra):
        env = {
            "AWS_LAMBDA_RUNTIME_API": api_address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": code,
            "AWS_LAMBDA_FUNCTION_NAME": "fixture-fn",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fixture-fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef",
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
        }
        env.update(extra or {})
        return env

    def spawn(self, handler, api=None, code=None, env=None, address=None):
        """Starts a worker; returns (process, fake API)."""
        api = api or FakeRuntimeAPI()
        self.addCleanup(api.close)
        code = code or self.code
        address = address or "127.0.0.1:%d" % api.port
        proc = subprocess.Popen(self.argv, cwd=code, env=self.contract_env(address, handler, code, env),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(proc)
        return proc, api

    def stop(self, proc):
        """Kills a worker (if still running) and returns (stdout, stderr) as text."""
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate(timeout=WAIT)
        return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def call(self, api, event, **kw):
        request_id = api.invoke(event, **kw)
        kind, headers, body = api.result(request_id)
        return kind, headers, body

    def ok(self, api, event, **kw):
        kind, _, body = self.call(api, event, **kw)
        self.assertEqual(kind, "response", "expected a response, got %s: %s" % (kind, body))
        return body

    def assert_error(self, api, event, error_type):
        kind, headers, body = self.call(api, event)
        self.assertEqual(kind, "error", body)
        self.assertEqual(body["errorType"], error_type, body)
        self.assertEqual(headers.get("Lambda-Runtime-Function-Error-Type"), error_type)
        self.assertIsInstance(body["errorMessage"], str)
        self.assertIsInstance(body["stackTrace"], list)
        return body

    def assert_init_error(self, handler, error_type, code=None):
        proc, api = self.spawn(handler, code=code)
        kind, headers, body = api.result("init")
        self.assertEqual(kind, "init_error")
        self.assertEqual(body["errorType"], error_type, body)
        self.assertEqual(headers.get("Lambda-Runtime-Function-Error-Type"), error_type)
        self.assertIsInstance(body["errorMessage"], str)
        self.assertIsInstance(body["stackTrace"], list)
        self.assertEqual(proc.wait(timeout=WAIT), 1, "the worker must exit 1 after an init error")
        return body

    def assert_marks(self, out_line, err_line, error_handler):
        """With _KUMO_LOG_MARK=TOKEN, each invocation's output sits between "TOKEN start ID" and "TOKEN end ID"
        (which follows a last line printed without a newline), for a result and for an error: on stdout and
        stderr (err_line), or with err_line None on stdout alone, stderr being the same pipe. The handler does
        not see the variable; without it nothing is marked."""
        token = "kumo-mark-0123abcd"
        proc, api = self.spawn("handlers.noisy", env={"_KUMO_LOG_MARK": token})
        # The end mark follows the posted result: a third call's result shows the second's was written.
        first, second, third = api.invoke({}), api.invoke({}), api.invoke({})
        for rid in (first, second, third):
            self.assertEqual(api.result(rid)[2], "printed")
        out, err = self.stop(proc)
        for rid in (first, second):
            start, end = "%s start %s\n" % (token, rid), "%s end %s\n" % (token, rid)
            self.assertIn(start + out_line.replace("{id}", rid) + end, out)
            if err_line is not None:
                self.assertIn(start + err_line + end, err)
        self.assertLess(out.index("%s end %s" % (token, first)), out.index("%s start %s" % (token, second)))
        if err_line is None:
            self.assertEqual(err, "")

        proc, api = self.spawn(error_handler, env={"_KUMO_LOG_MARK": token})
        failed, again = api.invoke({"message": "kaboom"}), api.invoke({})
        self.assertEqual(api.result(failed)[0], "error")
        self.assertEqual(api.result(again)[0], "error")
        out, err = self.stop(proc)
        self.assertRegex(err if err_line is not None else out,
                         r"(?s)%s start %s\n.*kaboom.*\n%s end %s\n" % (token, failed, token, failed))

        _, api = self.spawn("handlers.environment", env={"_KUMO_LOG_MARK": token})
        self.assertNotIn("_KUMO_LOG_MARK", self.ok(api, {})["env"])
        proc, api = self.spawn("handlers.noisy")
        self.assertEqual(self.ok(api, {}), "printed")
        out, err = self.stop(proc)
        self.assertNotIn("kumo-mark", out + err)

    def assert_exits_when_runtime_is_gone(self, handler, event):
        # Nothing listening at all: the worker loads its handler, fails to reach /next and exits.
        proc, _ = self.spawn(handler, address="127.0.0.1:%d" % free_port())
        started = time.monotonic()
        self.assertNotEqual(proc.wait(timeout=WAIT), 0)
        self.assertLess(time.monotonic() - started, 5)
        # The runtime disappears while the worker waits in /next (on a kept-alive connection).
        proc, api = self.spawn(handler)
        self.ok(api, event)
        api.close()
        self.assertNotEqual(proc.wait(timeout=WAIT), 0)
        _, err = self.stop(proc)
        self.assertIn("Runtime API", err)


class PythonBootstrapTests(BootstrapCase):
    fixture = "python"
    argv = [PYTHON, PYTHON_BOOTSTRAP]

    def test_sync_handler_result(self):
        _, api = self.spawn("handlers.echo")
        self.assertEqual(self.ok(api, {"n": 1, "s": "é"}), {"echo": {"n": 1, "s": "é"}})
        self.assertEqual(self.ok(api, [1, 2]), {"echo": [1, 2]})

    def test_none_becomes_null(self):
        _, api = self.spawn("handlers.nothing")
        self.assertIsNone(self.ok(api, {}))

    def test_context(self):
        _, api = self.spawn("handlers.context_fields")
        deadline = int(time.time() * 1000) + 60000
        ctx = self.ok(api, {}, request_id="req-ctx", deadline_ms=deadline,
                      identity={"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"},
                      client_context={"client": {"installation_id": "inst", "app_title": "App"},
                                      "custom": {"k": "v"}, "env": {"platform": "test"}})
        remaining = ctx.pop("remaining")
        self.assertTrue(50000 < remaining <= 60000, remaining)
        self.assertEqual(ctx, {
            "aws_request_id": "req-ctx",
            "function_name": "fixture-fn",
            "function_version": "$LATEST",
            "memory_limit_in_mb": 256,
            "invoked_function_arn": ARN,
            "log_group_name": "/aws/lambda/fixture-fn",
            "log_stream_name": "2024/01/01/[$LATEST]0123456789abcdef",
            "identity": ["id-1", "pool-1"],
            "client_context": {"installation_id": "inst", "app_title": "App", "custom": {"k": "v"},
                               "env": {"platform": "test"}},
        })
        # Past deadline: never negative. No identity or client context headers: empty identity, None.
        ctx = self.ok(api, {}, deadline_ms=int(time.time() * 1000) - 5000)
        self.assertEqual(ctx["remaining"], 0)
        self.assertEqual(ctx["identity"], [None, None])
        self.assertIsNone(ctx["client_context"])

    def test_environment(self):
        _, api = self.spawn("handlers.environment", env={"GREETING": "hello", "TABLE_NAME": "t1"})
        seen = self.ok(api, {}, trace_id="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
        env = seen["env"]
        expected = self.contract_env("127.0.0.1:%d" % api.port, "handlers.environment", self.code,
                                     {"GREETING": "hello", "TABLE_NAME": "t1"})
        for name, value in expected.items():
            self.assertEqual(env.get(name), value, name)
        self.assertEqual(env["_X_AMZN_TRACE_ID"], "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
        self.assertNotIn("KUMO_TEST_MUST_NOT_LEAK", env)
        self.assertEqual(os.path.realpath(seen["cwd"]), os.path.realpath(self.code))
        self.assertEqual(seen["path0"], self.code)
        # The next invocation has no trace id: the previous one must not linger.
        self.assertNotIn("_X_AMZN_TRACE_ID", self.ok(api, {})["env"])

    def test_exception_becomes_error_and_worker_keeps_serving(self):
        proc, api = self.spawn("handlers.fail")
        request_id = api.invoke({"message": "kaboom"})
        kind, headers, body = api.result(request_id)
        self.assertEqual(kind, "error")
        self.assertEqual(body["errorType"], "BoomError")
        self.assertEqual(body["errorMessage"], "kaboom")
        self.assertEqual(headers.get("Lambda-Runtime-Function-Error-Type"), "BoomError")
        trace = "".join(body["stackTrace"])
        self.assertIn("handlers.py", trace)
        self.assertIn("raise BoomError", trace)
        self.assertNotIn("kumo_python_bootstrap", trace)
        self.assertEqual(self.assert_error(api, {"message": "again"}, "BoomError")["errorMessage"], "again")
        self.assertIsNone(proc.poll(), "the worker must keep serving after a handler error")
        _, err = self.stop(proc)
        self.assertIn(request_id, err)
        self.assertIn("BoomError: kaboom", err)

    def test_marshal_error(self):
        proc, api = self.spawn("handlers.unserializable")
        body = self.assert_error(api, {}, "Runtime.MarshalError")
        self.assertIn("not JSON serializable", body["errorMessage"])
        self.assert_error(api, {}, "Runtime.MarshalError")
        self.assertIsNone(proc.poll())

    def test_import_error(self):
        body = self.assert_init_error("no_such_module.handler", "Runtime.ImportModuleError")
        self.assertIn("no_such_module", body["errorMessage"])
        body = self.assert_init_error("import_error.handler", "Runtime.ImportModuleError")
        self.assertIn("kumo_definitely_missing_dependency", body["errorMessage"])

    def test_handler_not_found(self):
        body = self.assert_init_error("handlers.no_such_function", "Runtime.HandlerNotFound")
        self.assertIn("no_such_function", body["errorMessage"])
        self.assert_init_error("handlers.not_callable", "Runtime.HandlerNotFound")

    def test_syntax_error(self):
        code = os.path.join(self.tmp, "broken")
        os.makedirs(code, exist_ok=True)
        with open(os.path.join(code, "broken.py"), "w") as f:
            f.write("def handler(event, context)\n    return 1\n")
        body = self.assert_init_error("broken.handler", "Runtime.UserCodeSyntaxError", code=code)
        self.assertIn("broken.py", "".join(body["stackTrace"]))

    def test_module_raising_at_import(self):
        body = self.assert_init_error("raises_at_import.handler", "KeyError")
        self.assertIn("raises_at_import.py", "".join(body["stackTrace"]))

    def test_malformed_handler(self):
        self.assert_init_error("handlers", "Runtime.MalformedHandlerName")

    def test_subpackage_and_subdirectory_handlers(self):
        _, api = self.spawn("pkg.mod.handler")
        self.assertEqual(self.ok(api, {"x": 1}), {"from": "pkg.mod", "event": {"x": 1}})
        _, api = self.spawn("src/app.handler")
        self.assertEqual(self.ok(api, {}), {"from": "src.app"})

    def test_output_is_passed_through_and_flushed(self):
        proc, api = self.spawn("handlers.noisy")
        request_id = api.invoke({})
        self.assertEqual(api.result(request_id)[2], "printed")
        out, _ = self.stop(proc)
        self.assertIn("hello from %s\nno newline" % request_id, out)

    def test_invocations_are_marked_on_both_streams(self):
        self.assert_marks("hello from {id}\nno newline", None, "handlers.fail")

    def test_unparseable_event(self):
        proc, api = self.spawn("handlers.echo")
        request_id = api.invoke(None, raw_body=b"{not json")
        kind, _, body = api.result(request_id)
        self.assertEqual((kind, body["errorType"]), ("error", "Runtime.UnmarshalError"))
        self.assertEqual(self.ok(api, 1), {"echo": 1})

    def test_chunked_and_connection_close_answers(self):
        _, api = self.spawn("handlers.echo", api=FakeRuntimeAPI(chunked=True))
        for i in range(3):
            self.assertEqual(self.ok(api, {"i": i, "pad": "x" * 100}), {"echo": {"i": i, "pad": "x" * 100}})
        _, api = self.spawn("handlers.echo", api=FakeRuntimeAPI(close_each=True))
        for i in range(3):
            self.assertEqual(self.ok(api, {"i": i}), {"echo": {"i": i}})

    def test_exits_when_runtime_is_gone(self):
        self.assert_exits_when_runtime_is_gone("handlers.echo", {})


@unittest.skipUnless(NODE, "node not found on PATH (set KUMO_TEST_NODE): skipping the Node bootstrap tests")
class NodeBootstrapTests(BootstrapCase):
    fixture = "node"
    argv = [NODE, NODE_BOOTSTRAP]

    def test_async_handler(self):
        _, api = self.spawn("handlers.asyncEcho")
        self.assertEqual(self.ok(api, {"n": 1}), {"echo": {"n": 1}, "style": "async"})
        self.assertEqual(self.ok(api, {"n": 2}), {"echo": {"n": 2}, "style": "async"})

    def test_callback_handler(self):
        _, api = self.spawn("handlers.callbackEcho")
        self.assertEqual(self.ok(api, "x"), {"echo": "x", "style": "callback"})
        _, api = self.spawn("legacy.handler")  # .cjs
        self.assertEqual(self.ok(api, {}), {"cjs": True})

    def test_sync_return(self):
        _, api = self.spawn("handlers.syncReturn")
        self.assertEqual(self.ok(api, [1]), {"echo": [1], "style": "sync"})
        _, api = self.spawn("handlers.nothing")
        self.assertIsNone(self.ok(api, {}))

    def test_esm_handlers(self):
        _, api = self.spawn("esm.handler")
        self.assertEqual(self.ok(api, {"a": 1}, request_id="r-esm"), {"esm": True, "event": {"a": 1}, "requestId": "r-esm"})
        code = os.path.join(self.tmp, "node_esm")
        shutil.copytree(os.path.join(HERE, "fixtures", "node_esm"), code, dirs_exist_ok=True)
        _, api = self.spawn("index.handler", code=code)  # .js under "type": "module"
        self.assertEqual(self.ok(api, 2), {"esm": True, "file": "index.js", "event": 2})

    def test_context(self):
        _, api = self.spawn("handlers.contextFields")
        deadline = int(time.time() * 1000) + 60000
        ctx = self.ok(api, {}, request_id="req-ctx", deadline_ms=deadline,
                      identity={"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"},
                      client_context={"client": {"installation_id": "inst"}, "custom": {"k": "v"}})
        remaining = ctx.pop("remaining")
        self.assertTrue(50000 < remaining <= 60000, remaining)
        self.assertEqual(ctx, {
            "awsRequestId": "req-ctx",
            "functionName": "fixture-fn",
            "functionVersion": "$LATEST",
            "memoryLimitInMB": "256",
            "invokedFunctionArn": ARN,
            "logGroupName": "/aws/lambda/fixture-fn",
            "logStreamName": "2024/01/01/[$LATEST]0123456789abcdef",
            "identity": {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"},
            "clientContext": {"client": {"installation_id": "inst"}, "custom": {"k": "v"}},
            "callbackWaitsForEmptyEventLoop": True,
        })
        ctx = self.ok(api, {}, deadline_ms=int(time.time() * 1000) - 5000)
        self.assertEqual(ctx["remaining"], 0)
        self.assertNotIn("identity", ctx)  # undefined, as on AWS

    def test_environment(self):
        _, api = self.spawn("handlers.environment", env={"GREETING": "hello"})
        seen = self.ok(api, {}, trace_id="Root=1-abc")
        expected = self.contract_env("127.0.0.1:%d" % api.port, "handlers.environment", self.code, {"GREETING": "hello"})
        for name, value in expected.items():
            self.assertEqual(seen["env"].get(name), value, name)
        self.assertEqual(seen["env"]["_X_AMZN_TRACE_ID"], "Root=1-abc")
        self.assertNotIn("KUMO_TEST_MUST_NOT_LEAK", seen["env"])
        self.assertEqual(os.path.realpath(seen["cwd"]), os.path.realpath(self.code))
        self.assertNotIn("_X_AMZN_TRACE_ID", self.ok(api, {})["env"])

    def test_thrown_error(self):
        proc, api = self.spawn("handlers.fail")
        request_id = api.invoke({"message": "kaboom"})
        kind, headers, body = api.result(request_id)
        self.assertEqual((kind, body["errorType"], body["errorMessage"]), ("error", "BoomError", "kaboom"))
        self.assertEqual(headers.get("Lambda-Runtime-Function-Error-Type"), "BoomError")
        self.assertIn("handlers.js", "\n".join(body["stackTrace"]))
        self.assertNotIn("kumo_node_bootstrap", "\n".join(body["stackTrace"]))
        self.assert_error(api, {}, "BoomError")
        self.assertIsNone(proc.poll(), "the worker must keep serving after a handler error")
        _, err = self.stop(proc)
        self.assertIn(request_id, err)

    def test_rejection_and_callback_error(self):
        _, api = self.spawn("handlers.reject")
        self.assertEqual(self.assert_error(api, {}, "RangeError")["errorMessage"], "rejected")
        _, api = self.spawn("handlers.callbackError")
        self.assertEqual(self.assert_error(api, {}, "TypeError")["errorMessage"], "bad callback input")

    def test_marshal_error(self):
        proc, api = self.spawn("handlers.unserializable")
        self.assert_error(api, {}, "Runtime.MarshalError")
        self.assertIsNone(proc.poll())

    def test_uncaught_exception_is_reported_then_exits(self):
        proc, api = self.spawn("handlers.crashLater")
        body = self.assert_error(api, {}, "EvalError")
        self.assertEqual(body["errorMessage"], "thrown outside the handler")
        self.assertEqual(proc.wait(timeout=WAIT), 1)

    def test_missing_module(self):
        body = self.assert_init_error("no_such_module.handler", "Runtime.ImportModuleError")
        self.assertIn("no_such_module", body["errorMessage"])
        body = self.assert_init_error("missing_dep.handler", "Runtime.ImportModuleError")
        self.assertIn("kumo-definitely-missing-dependency", body["errorMessage"])

    def test_handler_not_found_and_load_errors(self):
        self.assert_init_error("handlers.noSuchFunction", "Runtime.HandlerNotFound")
        self.assert_init_error("handlers.notAFunction", "Runtime.HandlerNotFound")
        self.assert_init_error("throws_at_load.handler", "ConfigError")
        code = os.path.join(self.tmp, "node_broken")
        os.makedirs(code, exist_ok=True)
        with open(os.path.join(code, "broken.js"), "w") as f:
            f.write("exports.handler = async (event => {\n")
        self.assert_init_error("broken.handler", "Runtime.UserCodeSyntaxError", code=code)

    def test_module_paths(self):
        for handler, expected in [("pkg.mod.handler", {"from": "pkg/mod.js"}),
                                  ("src/my.app.handler", {"from": "src/my.app.js"}),
                                  ("handlers.api.get", "nested property")]:
            _, api = self.spawn(handler)
            self.assertEqual(self.ok(api, {}), expected, handler)

    def test_invocations_are_marked_on_both_streams(self):
        self.assert_marks("hello from {id}\n", "to stderr\n", "handlers.fail")

    def test_output_is_passed_through(self):
        proc, api = self.spawn("handlers.noisy")
        request_id = api.invoke({})
        self.assertEqual(api.result(request_id)[2], "printed")
        out, err = self.stop(proc)
        self.assertIn("hello from %s\n" % request_id, out)
        self.assertIn("to stderr\n", err)

    def test_chunked_and_connection_close_answers(self):
        _, api = self.spawn("handlers.syncReturn", api=FakeRuntimeAPI(chunked=True))
        self.assertEqual(self.ok(api, {"pad": "y" * 50}), {"echo": {"pad": "y" * 50}, "style": "sync"})
        _, api = self.spawn("handlers.syncReturn", api=FakeRuntimeAPI(close_each=True))
        for i in range(3):
            self.assertEqual(self.ok(api, i), {"echo": i, "style": "sync"})

    def test_exits_when_runtime_is_gone(self):
        self.assert_exits_when_runtime_is_gone("handlers.syncReturn", {})


if __name__ == "__main__":
    unittest.main(verbosity=2)
