"""A small JSON web service on the standard library only.

`main.py` serves on 0.0.0.0:8080; `main.py --selftest` starts the server,
asks it once over HTTP and prints the answer (what the tests run).
"""
import json
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "python": sys.version.split()[0]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    selftest = "--selftest" in sys.argv
    server = ThreadingHTTPServer(("127.0.0.1" if selftest else "0.0.0.0", 0 if selftest else 8080), Handler)
    if not selftest:
        server.serve_forever()
        return
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/hello") as r:
        print("python-web:", r.status, r.read().decode())
    server.shutdown()


if __name__ == "__main__":
    main()
