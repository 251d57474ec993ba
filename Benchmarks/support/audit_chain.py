"""Appends N audit entries to a Coxswain SQLite database, each chained as AuditChain.swift
chains them (a second, independent implementation of the canonical encoding: if the two
disagree, `coxswain audit verify` reports the first entry). Usage: audit_chain.py DB N"""
import hashlib
import sqlite3
import struct
import sys
from datetime import datetime, timedelta, timezone

TAG = b"coxswain.audit.v1\n"


def chained(seq, at_ms, job_id, actor, event, detail, previous):
    data = TAG + struct.pack(">qq", seq, at_ms)
    data += b"\x00" if job_id is None else b"\x01" + struct.pack(">q", job_id)
    for text in (actor, event, detail):
        raw = text.encode("utf-8")
        data += struct.pack(">I", len(raw)) + raw
    return hashlib.sha256(data + bytes.fromhex(previous)).hexdigest()


def main(path, count):
    db = sqlite3.connect(path)
    row = db.execute("SELECT seq, hash FROM auditEntry ORDER BY seq DESC LIMIT 1").fetchone()
    seq, previous = row if row else (0, "0" * 64)
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    rows = []
    for n in range(count):
        seq += 1
        at = start + timedelta(milliseconds=1250 * n)
        at_ms = int(at.timestamp() * 1000)
        actor, event = ("U0123ALICE", "job.requested") if n % 3 == 0 else ("coxswain", "step.helm.rollback.succeeded")
        detail = f"/rollback llama-2-7b-production pods OOM after upgrade, request {n} — naïve «quotes» 🚀"
        previous = chained(seq, at_ms, None, actor, event, detail, previous)
        rows.append((seq, at.strftime("%Y-%m-%d %H:%M:%S.") + f"{at.microsecond // 1000:03d}", None, actor, event, detail, previous))
    db.executemany("INSERT INTO auditEntry (seq, at, jobID, actor, event, detail, hash) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
