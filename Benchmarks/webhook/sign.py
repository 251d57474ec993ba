"""Prints N signed slash-command requests, one per line: TIMESTAMP<TAB>SIGNATURE<TAB>BODY.
Each has its own trigger_id, so each is a new job, as real traffic is."""
import hashlib, hmac, sys, time, urllib.parse

secret, count = sys.argv[1].encode(), int(sys.argv[2])
ts = str(int(time.time()))
for i in range(count):
    body = urllib.parse.urlencode({
        "team_id": "T0001", "channel_id": "C0OPS", "user_id": "U0123ALICE", "user_name": "alice",
        "command": "/rollback", "text": "llama-2-7b-production load test",
        "response_url": "http://127.0.0.1:9/hooks/x", "trigger_id": "bench.%d" % i})
    sig = "v0=" + hmac.new(secret, ("v0:%s:%s" % (ts, body)).encode(), hashlib.sha256).hexdigest()
    print("%s\t%s\t%s" % (ts, sig, body))
