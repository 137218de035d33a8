"""The reference for Benchmarks/runtime.sh: the least a Python process can do to answer the same request.

    python3 echo_server.py PORTFILE [--stdlib]

A raw-socket HTTP/1.1 server on 127.0.0.1 (port chosen by the kernel, written to PORTFILE once it
listens), one thread per connection, keep-alive: for every request it reads the headers and the
Content-Length body, does what Kumo's bootstrap does with an event and a result (json.loads, then
json.dumps) and answers 200 with that JSON. No http.server, no asyncio: those add parsing and
event-loop layers a Lambda worker does not have, so this is the fastest honest Python answer.

--stdlib serves the same answer with http.server (ThreadingHTTPServer, HTTP/1.1 keep-alive) instead,
to show how much the choice of reference matters.
"""
import _socket
import json
import os
import sys
import threading


def serve(conn):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            length = 0
            close = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            while len(buf) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            body, buf = buf[:length], buf[length:]
            result = json.dumps(json.loads(body) if body else {}).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(result) + result)
            if close:
                return
    except OSError:
        pass
    finally:
        conn.close()


def announce(port):
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])


def stdlib():
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: without it, 40 ms per request

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            result = json.dumps(json.loads(body) if body else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(result)))
            self.end_headers()
            self.wfile.write(result)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    announce(server.server_address[1])
    server.serve_forever()


def main():
    if sys.argv[2:] == ["--stdlib"]:
        return stdlib()
    server = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    server.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    announce(server.getsockname()[1])
    while True:
        fd, _ = server._accept()
        conn = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM, 0, fd)
        conn.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
