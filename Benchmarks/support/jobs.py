"""Runs N rollbacks one after another through the webhook and reads from the database how
long each took from its start to its end; prints RSS of PID every STEP jobs.
Usage: python3 jobs.py URL SECRET DATABASE PID COUNT STEP
Prints one line per STEP jobs: `after N jobs: rss X MB` and finally
`jobs N succeeded S median-ms M p90-ms P`."""
import hashlib, hmac, http.client, re, sqlite3, sys, time, urllib.parse
from datetime import datetime
from urllib.parse import urlparse

url, secret, database, pid, count, step = sys.argv[1], sys.argv[2].encode(), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
target = urlparse(url)
connection = http.client.HTTPConnection(target.hostname, target.port)
db = sqlite3.connect("file:%s?mode=ro" % database, uri=True, timeout=5)


def rss():
    fields = {}
    for line in open("/proc/%s/status" % pid):
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0]) / 1024
    return "rss %.1f MB (anonymous %.1f MB)" % (fields["VmRSS"], fields["RssAnon"])


def parse(stamp):
    return datetime.strptime(stamp[:23], "%Y-%m-%d %H:%M:%S.%f")


durations, succeeded = [], 0
for n in range(1, count + 1):
    ts = str(int(time.time()))
    body = urllib.parse.urlencode({
        "team_id": "T0001", "channel_id": "C0OPS", "user_id": "U0123ALICE", "user_name": "alice", "command": "/rollback",
        "text": "llama-2-7b-bench", "response_url": "http://%s/hooks/job%d" % (target.netloc, n), "trigger_id": "jobs.%d" % n})
    signature = "v0=" + hmac.new(secret, ("v0:%s:%s" % (ts, body)).encode(), hashlib.sha256).hexdigest()
    connection.request("POST", target.path, body, {"Content-Type": "application/x-www-form-urlencoded",
                                                    "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature})
    answer = connection.getresponse().read().decode()
    match = re.search(r"Job #(\d+)", answer)
    if not match:
        sys.exit("job %d was not accepted: %s" % (n, answer))
    job = int(match.group(1))
    deadline = time.time() + 120
    while True:
        row = db.execute("SELECT state, startedAt, finishedAt FROM job WHERE id = ?", (job,)).fetchone()
        if row and row[2]:
            break
        if time.time() > deadline:
            sys.exit("job %d did not finish within 120 s: %s" % (job, row))
        time.sleep(0.002)  # polling the database for the end; the job's own timing is its timestamps
    succeeded += row[0] == "succeeded"
    durations.append((parse(row[2]) - parse(row[1])).total_seconds() * 1000)
    if n % step == 0:
        print("after %d jobs: %s" % (n, rss()), flush=True)
# Where a job's time goes: each step's median, and the rest (between steps: commits, the next
# step's start) as the job's median minus the steps' medians.
steps = {}
for action, started, finished in db.execute("SELECT action, startedAt, finishedAt FROM jobStep WHERE finishedAt IS NOT NULL"):
    steps.setdefault(action, []).append((parse(finished) - parse(started)).total_seconds() * 1000)
medians = {action: sorted(values)[len(values) // 2] for action, values in steps.items()}
print("steps (median ms): " + ", ".join("%s %.1f" % item for item in sorted(medians.items(), key=lambda item: -item[1])))
durations.sort()
print("jobs %d succeeded %d median-ms %.1f p90-ms %.1f" % (count, succeeded, durations[len(durations) // 2], durations[int(len(durations) * 0.9)]))
