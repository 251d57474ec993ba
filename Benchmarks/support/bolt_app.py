"""The Python reference: a slack-bolt app (gunicorn, `process_before_response=True`, as on
a function-as-a-service host) that verifies the request, stores it in SQLite with the same
durability as Coxswain (WAL, synchronous=FULL) and acknowledges it.
Run: SLACK_SIGNING_SECRET=... BOLT_DATABASE=... BOLT_SLACK_API=http://.../api/ gunicorn -w 2 -b 127.0.0.1:PORT bolt_app:app"""
import os, sqlite3, threading, time
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

# Its Web API calls (bolt's auth.test, once per worker) go to the benchmark's Slack fake.
client = WebClient(token="xoxb-bench", base_url=os.environ["BOLT_SLACK_API"])
bolt = App(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client, token_verification_enabled=False,
           process_before_response=True)
local = threading.local()


def database():
    if not hasattr(local, "db"):
        db = sqlite3.connect(os.environ["BOLT_DATABASE"], timeout=5, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE IF NOT EXISTS request (id INTEGER PRIMARY KEY, receivedAt REAL NOT NULL, body TEXT NOT NULL)")
        local.db = db
    return local.db


@bolt.command("/upgrade")
def upgrade(ack, command):
    cursor = database().execute("INSERT INTO request (receivedAt, body) VALUES (?, ?)", (time.time(), command.get("text", "")))
    ack("Request #%d recorded." % cursor.lastrowid)


app = SlackRequestHandler(bolt, path="/slack/commands")
