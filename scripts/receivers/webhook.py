"""An HTTPS receiver for the notifiers' tests (scripts/services starts it on loopback): python3's http.server
behind TLS (a certificate from the test CA), a bearer token required; each POST is appended as one JSON line
({"path", "headers" but the token, "body"}) to the log file. GET /ready answers 200 without a token.

Under /actions/ it receives action calls as a maintenance system should: each path keeps the newest fencing
token (header x-aeroguard-fencing-token) and the idempotency keys it took; a call with an older token is refused
(409), a key taken before is acknowledged and not taken again (200, "repeat"); the log line says which
("outcome": accepted, repeat or stale)."""

import argparse
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20
MAX_PATHS = 1000
MAX_KEYS = 10000


def admit(gates: dict, path: str, token: int, key: str) -> str:
    """accepted, repeat or stale, as the action gate of `path` sees the call."""
    if path not in gates and len(gates) >= MAX_PATHS:
        gates.pop(next(iter(gates)))
    gate = gates.setdefault(path, {"newest": 0, "keys": {}})
    if key in gate["keys"]:
        return "repeat"
    if token < gate["newest"]:
        return "stale"
    gate["newest"] = token
    if len(gate["keys"]) >= MAX_KEYS:
        gate["keys"].pop(next(iter(gate["keys"])))
    gate["keys"][key] = True
    return "accepted"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--token-file", required=True)
    a = p.parse_args()
    with open(a.token_file) as f:
        token = f.read().strip()
    lock = threading.Lock()
    gates: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status: int, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.answer(200 if self.path == "/ready" else 404, "ok\n")

        def do_POST(self) -> None:  # noqa: N802
            if self.headers.get("authorization") != f"Bearer {token}":
                self.answer(401, "unauthorized\n")
                return
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self.answer(413, "too large\n")
                return
            body = self.rfile.read(length).decode("utf-8", "replace")
            # The token is checked, not kept.
            headers = {k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"}
            entry = {"path": self.path, "headers": headers, "body": body}
            status, text = 200, "ok\n"
            if self.path.startswith("/actions/"):
                key = headers.get("idempotency-key", "")
                fencing = headers.get("x-aeroguard-fencing-token", "")
                if not key or not fencing.isdigit():
                    self.answer(400, "an action needs idempotency-key and x-aeroguard-fencing-token\n")
                    return
                with lock:
                    entry["outcome"] = admit(gates, self.path, int(fencing), key)
                if entry["outcome"] == "stale":
                    status, text = 409, "stale fencing token\n"
                else:
                    text = entry["outcome"] + "\n"
            with lock, open(a.log, "a") as f:
                f.write(json.dumps(entry) + "\n")
            self.answer(status, text)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(a.cert, a.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
