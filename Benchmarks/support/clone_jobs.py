"""Grows a database of real jobs to COUNT finished jobs by copying the ones it holds (every
row that belongs to a job: the job, its steps, audit entries, messages, message references,
followers and request key), then ages every job, message and request key by DAYS days, the
messages delivered, as a busy installation's database looks after a while.
Usage: python3 clone_jobs.py DATABASE COUNT DAYS"""
import sqlite3, sys

database, count, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect(database)
db.execute("PRAGMA journal_mode=WAL")
templates = [row[0] for row in db.execute("SELECT id FROM job WHERE state NOT IN ('queued','running') ORDER BY id")]
if not templates:
    sys.exit("no finished job to copy")
columns = {table: [row[1] for row in db.execute("PRAGMA table_info(%s)" % table)]
           for table in ("job", "jobStep", "auditEntry", "notice", "messageRef", "jobFollower", "receivedRequest")}
have = db.execute("SELECT COUNT(*) FROM job").fetchone()[0]
next_id = db.execute("SELECT MAX(id) FROM job").fetchone()[0] + 1


def copy(table, where, job, new_job, drop_id):
    names = [c for c in columns[table] if not (drop_id and c == "id")]
    values = ", ".join("?" if c == "jobID" else ("'c%d-' || key" % new_job if (table, c) == ("receivedRequest", "key") else c) for c in names)
    db.execute("INSERT INTO %s (%s) SELECT %s FROM %s WHERE %s" % (table, ", ".join(names), values.replace("?", str(new_job)), table, where), (job,))


made = 0
while have + made < count:
    job = templates[made % len(templates)]
    new_job = next_id + made
    names = [c for c in columns["job"] if c != "id"]
    db.execute("INSERT INTO job (id, %s) SELECT ?, %s FROM job WHERE id = ?" % (", ".join(names), ", ".join(names)), (new_job, job))
    for table in ("jobStep", "auditEntry", "notice"):
        copy(table, "jobID = ?", job, new_job, True)
    for table in ("messageRef", "jobFollower", "receivedRequest"):
        copy(table, "jobID = ?", job, new_job, False)
    made += 1
    if made % 5000 == 0:
        db.commit()
shift = "-%d days" % days
stamp = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '" + shift + "')"
db.execute("UPDATE job SET createdAt = %s, startedAt = %s, finishedAt = %s WHERE state NOT IN ('queued','running')"
           % (stamp % "createdAt", stamp % "startedAt", stamp % "finishedAt"))
db.execute("UPDATE notice SET state = 'delivered', head = 0, createdAt = %s" % (stamp % "createdAt"))
db.execute("UPDATE receivedRequest SET receivedAt = %s" % (stamp % "receivedAt"))
db.commit()
counts = {t: db.execute("SELECT COUNT(*) FROM %s" % t).fetchone()[0] for t in ("job", "jobStep", "auditEntry", "notice", "receivedRequest")}
print(" ".join("%s=%d" % item for item in counts.items()))
