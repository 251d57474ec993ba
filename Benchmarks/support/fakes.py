"""Slack's Web API, response URLs and a vLLM model server on one loopback port, for the
benchmark: every call answers at once as the real service does on success. GET /stats
returns how many of each call arrived. POST /control/limit-posts?seconds=N answers
chat.postMessage with 429 and Retry-After for the next N seconds, as Slack does when a
channel is over its limit (N=0 lifts it).
Usage: python3 fakes.py PORT"""
import itertools, json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts, lock, ts = {}, threading.Lock(), itertools.count(1)
limited_until = 0.0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per answer, sent at once, as real servers do: http.server's default (a write
    # per header line, Nagle on) stalls a keep-alive client 40 ms on delayed ACKs.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self, body, status=200, retry_after=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def count(self, name):
        with lock:
            counts[name] = counts.get(name, 0) + 1

    def do_GET(self):
        if self.path == "/stats":
            with lock:
                return self.answer(dict(counts))
        self.count(self.path)
        if self.path == "/model/health":
            return self.answer(None)
        if self.path == "/model/ready":
            return self.answer({"status": "ready"})
        if self.path == "/model/v1/models":  # vLLM's ModelList: the benchmarks' releases all serve llama-2-7b
            return self.answer({"object": "list", "data": [{"id": "llama-2-7b", "object": "model", "owned_by": "vllm", "max_model_len": 4096}]})
        self.answer({"error": "not found"}, 404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.count(self.path)
        if self.path.startswith("/control/limit-posts?seconds="):
            global limited_until
            limited_until = time.time() + int(self.path.rsplit("=", 1)[1])
            return self.answer({"ok": True})
        if self.path.startswith("/api/"):
            method = self.path[5:]
            fields = {}
            try:
                fields = json.loads(body) if body.startswith(b"{") else {}
            except ValueError:
                pass
            channel = fields.get("channel", "C0OPS")
            if method == "chat.postMessage" and time.time() < limited_until:
                return self.answer({"ok": False, "error": "ratelimited"}, 429, int(limited_until - time.time()) + 1)
            if method == "chat.postMessage":
                return self.answer({"ok": True, "channel": channel, "ts": "1700000000.%06d" % next(ts)})
            if method == "chat.update":
                return self.answer({"ok": True, "channel": channel, "ts": fields.get("ts", "")})
            if method in ("conversations.history", "conversations.replies"):
                return self.answer({"ok": True, "messages": []})
            if method == "conversations.info":
                return self.answer({"ok": True, "channel": {"id": channel, "is_member": True}})
            if method == "auth.test":
                return self.answer({"ok": True, "team": "Bench", "user": "coxswain", "user_id": "U0BOT"})
            if method == "usergroups.users.list":
                return self.answer({"ok": True, "users": []})
            return self.answer({"ok": False, "error": "unknown_method"})
        if self.path.startswith("/hooks/"):
            return self.answer({"ok": True})
        if self.path == "/model/v1/completions":
            return self.answer({"id": "cmpl-1", "object": "text_completion", "model": "llama-2-7b",
                                "choices": [{"index": 0, "text": " fine", "finish_reason": "length"}]})
        self.answer({"error": "not found"}, 404)


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
