"""What the Python relying parties share: JSON lines with the test
(crates/cli/tests/interop.rs) and a back-channel logout endpoint that
keeps the first logout token POSTed to it. The OpenID work itself is the
libraries' (authlib_rp.py, pyoidc_rp.py)."""

import json
import queue
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def hear():
    return json.loads(sys.stdin.readline())


class Backchannel:
    """An HTTP endpoint on 127.0.0.1 that receives logout tokens."""

    def __init__(self):
        tokens = self.tokens = queue.Queue()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length).decode()
                tokens.put(urllib.parse.parse_qs(body).get("logout_token", [""])[0])
                self.send_response(200)
                self.send_header("cache-control", "no-store")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.uri = "http://127.0.0.1:%d/logout" % self.server.server_address[1]

    def token(self, seconds=15):
        return self.tokens.get(timeout=seconds)
