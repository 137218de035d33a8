"""The soak's load and checks (Benchmarks/soak.sh): well-behaved keep-alive clients and slow ones
against the gateway, then the daemon's descriptors and resident memory against their level
before the load.

    soak.py --port PORT --pid DAEMON_PID [--duration 60] [--clients 16] ...

Well-behaved clients: `--clients` threads, each on one keep-alive connection, POST the Lambda
Invoke API for the function `--function` in a loop (`--think-ms` between requests); any answer
but 200 with the event echoed, and any connection the server closes, is an error.
Slow clients, opened in turn every `--slow-every` seconds while the load runs: `silent` (connects
and sends nothing), `half` (sends half a request head and stalls), `garbage` (sends a malformed
request: expects 400 and the close), `idle` (one request answered, then idle on a keep-alive
connection; opened every `--idle-every` seconds, 0: none). Each must be closed by the server
within its timeout (header 10 s, idle 60 s; plus slack).

Phases: warm-up (`--warmup` s of the same mix without idle clients), wait until the server has
closed every slow connection, baseline (descriptors, VmRSS); the load (`--duration` s); wait
until every slow and idle connection is closed (the timeouts); end figures. Prints a report and
one JSON line; exits 1 when a check fails.
"""
import argparse
import http.client
import json
import os
import selectors
import socket
import statistics
import sys
import threading
import time

HEADER_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0
SLACK = 3.0


def descriptors(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS for %d" % pid)


class Good(threading.Thread):
    """One well-behaved keep-alive client."""

    def __init__(self, port, function, think, stop, index):
        super().__init__(daemon=True)
        self.port, self.function, self.think, self.stop, self.index = port, function, think, stop, index
        self.ok, self.errors, self.latencies, self.error_samples = 0, 0, [], []

    def run(self):
        path = "/2015-03-31/functions/%s/invocations" % self.function
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        n = 0
        while not self.stop.is_set():
            n += 1
            body = json.dumps({"client": self.index, "n": n}).encode()
            start = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                data = response.read()
                if response.status == 200 and json.loads(data) == {"client": self.index, "n": n} and not response.will_close:
                    self.ok += 1
                    self.latencies.append(time.perf_counter() - start)
                else:
                    self.fail("status %d, %r" % (response.status, data[:200]))
            except Exception as error:  # noqa: BLE001 - every failure counts
                self.fail("%s: %s" % (type(error).__name__, error))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            if self.think:
                time.sleep(self.think)
        connection.close()

    def fail(self, what):
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)


class Slow(threading.Thread):
    """Opens slow connections in turn and records when the server closes each."""

    KINDS = {
        "silent": b"",
        "half": b"GET / HTTP/1.1\r\nHost: soak\r\nX-Slow: ",
        "garbage": b"NOT HTTP AT ALL\r\n\r\n",
    }

    def __init__(self, port, function, every, idle_every, stop):
        super().__init__(daemon=True)
        self.port, self.function, self.every, self.idle_every, self.stop = port, function, every, idle_every, stop
        self.selector = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.open = {}  # socket -> (kind, opened at, received bytes)
        self.closed = []  # (kind, lifetime, first line received)
        self.failures = []
        self.abandoned = threading.Event()

    def add(self, kind):
        try:
            if kind == "idle":
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                path = "/2015-03-31/functions/%s/invocations" % self.function
                sock.sendall(("POST %s HTTP/1.1\r\nHost: soak\r\nContent-Length: 2\r\n\r\n{}" % path).encode())
                answer = b""
                while b"\r\n\r\n" not in answer:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
                if not answer.startswith(b"HTTP/1.1 200"):
                    self.failures.append("idle client's request got %r" % answer[:80])
            else:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                if self.KINDS[kind]:
                    sock.sendall(self.KINDS[kind])
        except OSError as error:
            self.failures.append("%s client could not connect: %s" % (kind, error))
            return
        sock.setblocking(False)
        with self.lock:
            self.open[sock] = (kind, time.monotonic(), b"")
        self.selector.register(sock, selectors.EVENT_READ)

    def run(self):
        kinds = list(self.KINDS)
        turn = 0
        next_slow = time.monotonic()
        next_idle = time.monotonic() + (self.idle_every or 0)
        while True:
            now = time.monotonic()
            if not self.stop.is_set():
                if now >= next_slow:
                    self.add(kinds[turn % len(kinds)])
                    turn += 1
                    next_slow += self.every
                if self.idle_every and now >= next_idle:
                    self.add("idle")
                    next_idle += self.idle_every
            elif not self.open or self.abandoned.is_set():
                break
            for key, _ in self.selector.select(timeout=0.05):
                sock = key.fileobj
                kind, opened, received = self.open[sock]
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                except BlockingIOError:
                    continue
                if chunk:
                    self.open[sock] = (kind, opened, received + chunk)
                    continue
                self.selector.unregister(sock)
                sock.close()
                with self.lock:
                    del self.open[sock]
                    self.closed.append((kind, time.monotonic() - opened, received.split(b"\r\n", 1)[0].decode(errors="replace")))
        for sock in list(self.open):
            self.selector.unregister(sock)
            sock.close()

    def still_open(self):
        with self.lock:
            return len(self.open)

    def abandon(self):
        """Stops waiting for the server: the thread closes what is still open and ends."""
        self.abandoned.set()
        self.join()


def run_load(args, seconds, idle_every):
    """Well-behaved and slow clients for `seconds`; returns them once the load has stopped."""
    stop = threading.Event()
    good = [Good(args.port, args.function, args.think_ms / 1000, stop, i) for i in range(args.clients)]
    slow = Slow(args.port, args.function, args.slow_every, idle_every, stop)
    peak = {"fds": 0, "rss_kb": 0}
    for client in good:
        client.start()
    slow.start()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        peak["fds"] = max(peak["fds"], descriptors(args.pid))
        peak["rss_kb"] = max(peak["rss_kb"], rss_kb(args.pid))
        time.sleep(0.5)
    stop.set()
    for client in good:
        client.join()
    return good, slow, peak


def wait_closed(slow, limit):
    """Waits until the server has closed every slow connection (or `limit` s); the seconds taken."""
    start = time.monotonic()
    while slow.still_open() and time.monotonic() - start < limit:
        time.sleep(0.1)
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--function", default="echo")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--think-ms", type=float, default=2)
    parser.add_argument("--slow-every", type=float, default=0.1)
    parser.add_argument("--idle-every", type=float, default=2)
    parser.add_argument("--tolerance", type=float, default=0.10)
    args = parser.parse_args()
    failures = []

    def say(text):
        print(text, file=sys.stderr, flush=True)

    say("==> warm-up: %d clients and slow ones for %g s" % (args.clients, args.warmup))
    good, slow, _ = run_load(args, args.warmup, 0)
    waited = wait_closed(slow, HEADER_TIMEOUT + SLACK)
    if slow.still_open():
        failures.append("warm-up: %d slow connections still open %.1f s after the load" % (slow.still_open(), waited))
        slow.abandon()
    slow.join()
    warm_errors = sum(c.errors for c in good)
    if warm_errors:
        failures.append("warm-up: %d errors for well-behaved clients: %s" % (warm_errors, [s for c in good for s in c.error_samples][:5]))
    time.sleep(1)
    base = {"fds": descriptors(args.pid), "rss_kb": rss_kb(args.pid)}
    say("==> baseline: %d descriptors, VmRSS %d kB" % (base["fds"], base["rss_kb"]))

    say("==> load: %d clients for %g s, slow clients every %g s, idle ones every %g s"
        % (args.clients, args.duration, args.slow_every, args.idle_every))
    good, slow, peak = run_load(args, args.duration, args.idle_every)
    during = {"fds": descriptors(args.pid), "rss_kb": rss_kb(args.pid)}
    limit = (IDLE_TIMEOUT if args.idle_every else HEADER_TIMEOUT) + SLACK
    say("==> waiting up to %g s for the server to close the slow and idle connections" % limit)
    waited = wait_closed(slow, limit)
    if slow.still_open():
        failures.append("%d slow or idle connections still open %.1f s after the load" % (slow.still_open(), waited))
        slow.abandon()
    slow.join()
    time.sleep(1)
    end = {"fds": descriptors(args.pid), "rss_kb": rss_kb(args.pid)}

    ok = sum(c.ok for c in good)
    errors = sum(c.errors for c in good)
    latencies = sorted(l for c in good for l in c.latencies)
    if errors:
        failures.append("%d errors for well-behaved clients: %s" % (errors, [s for c in good for s in c.error_samples][:5]))
    if ok == 0:
        failures.append("no request of a well-behaved client was answered")
    failures += slow.failures
    kinds = {}
    for kind, lifetime, first in slow.closed:
        entry = kinds.setdefault(kind, {"count": 0, "max_s": 0.0, "answers": {}})
        entry["count"] += 1
        entry["max_s"] = round(max(entry["max_s"], lifetime), 2)
        if first:
            entry["answers"][first] = entry["answers"].get(first, 0) + 1
    for kind, entry in kinds.items():
        bound = {"silent": HEADER_TIMEOUT, "half": HEADER_TIMEOUT, "garbage": 0, "idle": IDLE_TIMEOUT}[kind] + SLACK
        if entry["max_s"] > bound:
            failures.append("a %s connection stayed open %.1f s (bound %.0f s)" % (kind, entry["max_s"], bound))
    garbage = kinds.get("garbage", {"count": 0, "answers": {}})
    if sum(garbage["answers"].values()) != garbage["count"] or any(not line.startswith("HTTP/1.1 400") for line in garbage["answers"]):
        failures.append("%d malformed requests got %s, not a 400 each" % (garbage["count"], garbage["answers"]))
    for name in ("fds", "rss_kb"):
        if abs(end[name] - base[name]) > args.tolerance * base[name]:
            failures.append("%s %d after the load, baseline %d: more than %d %% apart"
                            % (name, end[name], base[name], round(args.tolerance * 100)))

    print("soak: %d well-behaved clients for %g s: %d requests answered, %d errors; p50 %.2f ms, p99 %.2f ms"
          % (args.clients, args.duration, ok, errors,
             1000 * statistics.median(latencies) if latencies else 0, 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else 0))
    for kind in ("silent", "half", "garbage", "idle"):
        if kind in kinds:
            entry = kinds[kind]
            print("soak: %-7s connections: %4d, all closed by the server, the longest after %.1f s%s"
                  % (kind, entry["count"], entry["max_s"], "; answers %s" % entry["answers"] if entry["answers"] else ""))
    print("soak: descriptors: baseline %d, peak %d, at the end of the load %d, after the timeouts %d (%+.1f %%)"
          % (base["fds"], peak["fds"], during["fds"], end["fds"], 100 * (end["fds"] - base["fds"]) / base["fds"]))
    print("soak: VmRSS kB:    baseline %d, peak %d, at the end of the load %d, after the timeouts %d (%+.1f %%)"
          % (base["rss_kb"], peak["rss_kb"], during["rss_kb"], end["rss_kb"], 100 * (end["rss_kb"] - base["rss_kb"]) / base["rss_kb"]))
    print(json.dumps({"requests": ok, "errors": errors, "slow": kinds, "baseline": base, "peak": peak, "end_of_load": during,
                      "after_timeouts": end, "failures": failures}))
    for failure in failures:
        print("soak: FAILED: " + failure)
    if not failures:
        print("soak: all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
