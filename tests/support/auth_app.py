#!/usr/bin/python3
"""The application's auth endpoint, standing in for a real one in the
auth.mode "http" tests: Python's http.server on 127.0.0.1:PORT. What it
answers depends on the Authorization header the relay forwards:

  Bearer allow      200, subject "alice"
  Bearer readonly   200, X-Wsrelay-Publish: false, rooms chat-*,game-42
  Bearer expiring   200, X-Wsrelay-Expires two seconds ahead
  Bearer headers    200 only if the forwarded headers arrived as the test
                    sent them (Cookie, Origin, X-Original-URI,
                    X-Forwarded-For); 403 otherwise
  Bearer deny       403
  Bearer login      401 with its own WWW-Authenticate
  Bearer slow       answers after 5 s (past the relay's timeout)
  Bearer broken     500
  Bearer garbled    200 with an X-Wsrelay-Publish that is not true/false
  anything else     401
"""
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, headers=(), body=b""):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        token = self.headers.get("Authorization", "")
        token = token[7:] if token.startswith("Bearer ") else ""
        if token == "allow":
            self.answer(200, [("X-Wsrelay-Subject", "alice")])
        elif token == "readonly":
            self.answer(200, [("X-Wsrelay-Publish", "false"),
                              ("X-Wsrelay-Rooms", "chat-*,game-42"),
                              ("X-Wsrelay-Subject", "reader")])
        elif token == "expiring":
            self.answer(200, [("X-Wsrelay-Expires", str(int(time.time()) + 2))])
        elif token == "headers":
            want = {"Cookie": "session=abc", "Origin": "http://good.example",
                    "X-Original-URI": "/ws?room=1&x=y", "X-Forwarded-For": "127.0.0.1"}
            wrong = [n for n, v in want.items() if self.headers.get(n) != v]
            self.answer(403 if wrong else 200, body=" ".join(wrong).encode())
        elif token == "deny":
            self.answer(403)
        elif token == "login":
            self.answer(401, [("WWW-Authenticate", 'Bearer realm="app"')])
        elif token == "slow":
            time.sleep(5)
            self.answer(200)
        elif token == "broken":
            self.answer(500)
        elif token == "garbled":
            self.answer(200, [("X-Wsrelay-Publish", "maybe")])
        else:
            self.answer(401)

    def log_message(self, fmt, *args):
        sys.stderr.write("auth_app: " + (fmt % args) + "\n")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
