"""Kumo's Python bootstrap: serves `_HANDLER=module.function` over the AWS Lambda Runtime API (2018-06-01).

Contract with Kumo's local runtime:
  argv    python3 <dir>/kumo_python_bootstrap.py; the working directory is the function's code directory.
  env     AWS_LAMBDA_RUNTIME_API=host:port, _HANDLER=module.function (the last dot starts the function;
          dots or slashes before it name subpackages/subdirectories: pkg.mod.handler, src/app.handler),
          LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_{NAME,MEMORY_SIZE,VERSION}, AWS_LAMBDA_LOG_{GROUP,STREAM}_NAME,
          AWS_REGION, AWS_DEFAULT_REGION, PATH, LANG, TZ and the function's own variables.
  init    LAMBDA_TASK_ROOT becomes sys.path[0]; the handler is imported. On failure: POST /runtime/init/error
          (Runtime.ImportModuleError, Runtime.UserCodeSyntaxError, Runtime.HandlerNotFound, or the exception's
          class name for any other error raised by the module) and exit 1.
  loop    GET /runtime/invocation/next (blocks) -> handler(event, context) -> POST .../{id}/response with the
          JSON result, or .../{id}/error with {errorMessage, errorType, stackTrace} and the header
          Lambda-Runtime-Function-Error-Type (Runtime.MarshalError when the result is not JSON).
  output  print() goes to stdout unchanged, line-buffered and flushed after every invocation.
  marks   With _KUMO_LOG_MARK=TOKEN (removed from the environment the handler sees), stderr is made the same
          pipe as stdout (the runtime logs both alike) and the line "TOKEN start ID" is written to it when an
          invocation is received, "TOKEN end ID" once its result is posted, each after flushing both streams:
          the runtime tags what comes between with the request id and everything else (import time, threads
          still printing after the handler returned, anything between invocations) with the worker, however
          late the pipe delivers it.
  exit    1 as soon as the Runtime API cannot be reached (the runtime is gone).
Standard library only, and few imports: http.client would triple the interpreter's start-up time and even
socket.py costs 2 ms, so the Runtime API is spoken by a small keep-alive HTTP/1.1 client on a _socket.
"""
import _socket  # the C module under socket.py, without its enum set-up
import json
import os
import sys
import time

API = "/2018-06-01/runtime"


class RuntimeAPIError(Exception):
    """The Runtime API could not be reached or answered nonsense: the worker should exit."""


class RuntimeAPI:
    """Just enough HTTP/1.1 for the Runtime API: one keep-alive connection, Content-Length or chunked bodies."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.host, self.port = host.strip("[]") or "127.0.0.1", int(port)
        self.sock = None
        self.buf = bytearray()

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.buf = bytearray()

    def request(self, method, path, body=b"", headers=()):
        """Returns (status, headers with lower-case names, body bytes). A reused connection that turns out to be
        closed is retried once on a fresh one; a fresh connection that fails raises RuntimeAPIError."""
        head = ["%s %s%s HTTP/1.1" % (method, API, path), "Host: %s:%d" % (self.host, self.port),
                "Content-Length: %d" % len(body)]
        head += ["%s: %s" % (k, str(v).replace("\r", " ").replace("\n", " ")) for k, v in headers]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + body
        while True:
            fresh = self.sock is None
            try:
                if fresh:
                    family, kind, proto, _, address = _socket.getaddrinfo(self.host, self.port, 0, _socket.SOCK_STREAM)[0]
                    self.sock = _socket.socket(family, kind, proto)
                    self.sock.connect(address)
                self.sock.sendall(data)
                return self._response()
            except (OSError, ValueError, IndexError) as e:  # IndexError, ValueError: a garbled answer
                self.close()
                if fresh:
                    raise RuntimeAPIError("%s %s: %s" % (method, path, e)) from None

    def _response(self):
        status = int(self._line().split()[1])
        headers = {}
        while True:
            line = self._line().decode("latin-1").strip()
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line().strip():  # trailers
                        pass
                    break
                body += self._read(size + 2)[:-2]  # the chunk and its CRLF
            body = bytes(body)
        elif "content-length" in headers:
            body = self._read(int(headers["content-length"]))
        else:
            while self._recv():
                pass
            body, headers["connection"] = bytes(self.buf), "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def _recv(self):
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return chunk

    def _line(self):
        """The next line, with its line ending."""
        while True:
            end = self.buf.find(b"\n")
            if end >= 0:
                line = bytes(self.buf[:end + 1])
                del self.buf[:end + 1]
                return line
            if not self._recv():
                raise ConnectionError("connection closed by the Runtime API")

    def _read(self, n):
        while len(self.buf) < n:
            if not self._recv():
                raise ConnectionError("connection closed by the Runtime API mid-body")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def post(self, path, payload, error_type=None):
        headers = [("Content-Type", "application/json")]
        if error_type:
            headers.append(("Lambda-Runtime-Function-Error-Type", error_type))
        status, _, body = self.request("POST", path, payload.encode("utf-8"), headers)
        if status >= 300:
            log("kumo bootstrap: POST %s answered %d: %s" % (path, status, body.decode("utf-8", "replace")))


class CognitoIdentity:
    def __init__(self, fields):
        self.cognito_identity_id = fields.get("cognitoIdentityId")
        self.cognito_identity_pool_id = fields.get("cognitoIdentityPoolId")


class Client:
    def __init__(self, fields):
        for name in ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"):
            setattr(self, name, fields.get(name))


class ClientContext:
    def __init__(self, fields):
        self.client = Client(fields["client"]) if isinstance(fields.get("client"), dict) else None
        self.custom = fields.get("custom")
        self.env = fields.get("env")


class LambdaContext:
    """The `context` argument, with the attributes of AWS's Python runtime."""

    def __init__(self, request_id, headers):
        env = os.environ
        self.aws_request_id = request_id
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        memory = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.memory_limit_in_mb = int(memory) if memory.isdigit() else None
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = CognitoIdentity(json_header(headers, "lambda-runtime-cognito-identity") or {})
        client_context = json_header(headers, "lambda-runtime-client-context")
        self.client_context = ClientContext(client_context) if client_context else None
        deadline = headers.get("lambda-runtime-deadline-ms", "")
        self._deadline_ms = int(deadline) if deadline.isdigit() else 0

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self):
        return "LambdaContext(aws_request_id=%r, function_name=%r, function_version=%r, memory_limit_in_mb=%r)" % (
            self.aws_request_id, self.function_name, self.function_version, self.memory_limit_in_mb)


def json_header(headers, name):
    """A JSON object carried in a header, or None when absent or malformed."""
    try:
        value = json.loads(headers[name])
        return value if isinstance(value, dict) else None
    except (KeyError, ValueError):
        return None


def log(text):
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


MARK = os.environ.pop("_KUMO_LOG_MARK", "").encode("utf-8")


def mark(what, request_id):
    """Writes "TOKEN start|end ID" after what was printed (see `marks` above)."""
    if not MARK or not request_id:
        return
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # replaced or closed by the handler
            pass
    try:
        os.write(1, b"%s %s %s\n" % (MARK, what, request_id.encode("utf-8", "replace")))
    except OSError:
        pass


def error_body(error_type, message, frames=()):
    return json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": list(frames)})


def describe(e):
    """(errorType, errorMessage, stackTrace) of an exception, without the bootstrap's and importlib's frames."""
    import traceback  # only on the error path: it is not needed for a fast start
    hidden = (__file__, getattr(sys.modules.get("importlib"), "__file__", None))
    tb = [f for f in traceback.extract_tb(e.__traceback__)
          if f.filename not in hidden and not f.filename.startswith("<frozen importlib")]
    try:
        message = str(e)
    except Exception:
        message = "<unprintable %s>" % type(e).__name__
    return type(e).__name__, message, traceback.format_list(tb)


def report(api, path, request_id, error_type, message, frames=()):
    """Logs an error to stderr as Lambda does (with the request id) and POSTs it to the Runtime API."""
    trace = "\nTraceback (most recent call last):\n" + "".join(frames).rstrip() if frames else ""
    prefix = "[ERROR]\t%s\t" % request_id if request_id else "[ERROR] "
    log("%s%s: %s%s" % (prefix, error_type, message, trace))
    sys.stdout.flush()
    api.post(path, error_body(error_type, message, frames), error_type)
    mark(b"end", request_id)


def load_handler(api):
    """Imports the handler, or reports an init error and exits 1."""
    spec = os.environ.get("_HANDLER", "")
    module_name, _, function_name = spec.rpartition(".")
    module_name = module_name.replace("/", ".")
    if not module_name or not function_name or "/" in function_name:
        error = ("Runtime.MalformedHandlerName", "Bad handler '%s': expected module.function" % spec)
    else:
        try:
            import importlib
            module = importlib.import_module(module_name)
            handler = getattr(module, function_name, None)
            if callable(handler):
                return handler
            problem = "missing on" if handler is None else "is not callable in"
            error = ("Runtime.HandlerNotFound", "Handler '%s' %s module '%s'" % (function_name, problem, module_name))
        except SyntaxError as e:
            error = ("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (module_name, e),
                     ['  File "%s" Line %s\n    %s\n' % (e.filename, e.lineno, (e.text or "").strip())])
        except ImportError as e:
            error = ("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, e))
        except Exception as e:  # the module raised while being imported
            error = describe(e)
    try:
        report(api, "/init/error", None, *error)
    except RuntimeAPIError as e:
        log("kumo bootstrap: could not report the init error: %s" % e)
    sys.exit(1)


def invoke(api, handler, headers, body):
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    mark(b"start", request_id)
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    error_path = "/invocation/%s/error" % request_id
    try:
        event = json.loads(body)
    except ValueError as e:
        return report(api, error_path, request_id, "Runtime.UnmarshalError", "Unable to parse the event: %s" % e)
    context = LambdaContext(request_id, headers)
    try:
        result = handler(event, context)
    except Exception as e:
        return report(api, error_path, request_id, *describe(e))
    try:
        payload = json.dumps(result)
    except Exception as e:  # TypeError, ValueError (circular reference), RecursionError...
        return report(api, error_path, request_id, "Runtime.MarshalError", "Unable to marshal response: %s" % e)
    sys.stdout.flush()
    sys.stderr.flush()
    api.post("/invocation/%s/response" % request_id, payload)
    mark(b"end", request_id)


def main():
    if MARK:
        os.dup2(1, 2)
    for stream in (sys.stdout, sys.stderr):  # output reaches the runtime line by line, as with `python3 -u`
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    try:
        api = RuntimeAPI(os.environ["AWS_LAMBDA_RUNTIME_API"])
    except (KeyError, ValueError):
        log("kumo bootstrap: AWS_LAMBDA_RUNTIME_API must be host:port")
        sys.exit(1)
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    sys.path[0] = task_root  # replaces the bootstrap's own directory
    handler = load_handler(api)
    try:
        while True:
            status, headers, body = api.request("GET", "/invocation/next")
            if status != 200:
                raise RuntimeAPIError("GET /invocation/next answered %d: %s" % (status, body.decode("utf-8", "replace")))
            invoke(api, handler, headers, body)
    except RuntimeAPIError as e:
        log("kumo bootstrap: Runtime API unavailable, exiting: %s" % e)
        sys.exit(1)


if __name__ == "__main__":
    main()
