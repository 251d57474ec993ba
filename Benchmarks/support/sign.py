"""Prints N distinct signed slash commands, one per line: TIMESTAMP<TAB>SIGNATURE<TAB>BODY.
Usage: python3 sign.py SECRET COUNT COMMAND TEXT-TEMPLATE HOOKS-URL [FIRST=1]
TEXT-TEMPLATE has {n} for the request's number (FIRST, FIRST+1, ...), so every request is
a new job; each has its own trigger_id, as Slack's do."""
import hashlib, hmac, sys, time, urllib.parse

secret, count, command, template, hooks = sys.argv[1].encode(), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
first = int(sys.argv[6]) if len(sys.argv) > 6 else 1
ts = str(int(time.time()))
for i in range(first - 1, first - 1 + count):
    body = urllib.parse.urlencode({
        "team_id": "T0001", "channel_id": "C0OPS", "user_id": "U0123ALICE", "user_name": "alice",
        "command": command, "text": template.format(n=i + 1),
        "response_url": "%s/hooks/%d" % (hooks, i), "trigger_id": "bench.%d" % i})
    sig = "v0=" + hmac.new(secret, ("v0:%s:%s" % (ts, body)).encode(), hashlib.sha256).hexdigest()
    print("%s\t%s\t%s" % (ts, sig, body))
