"""Open-loop load at a fixed rate (what wrk2 does; Debian has only wrk): request i is
scheduled at start + i/rate whatever happened to earlier ones, and its latency counts from
that scheduled time, so a server that stalls is charged for every request that waited
(no coordinated omission). Requests are the pre-signed lines of REQUESTS, each sent once.
Usage: python3 openloop.py URL REQUESTS RATE SECONDS [CONNECTIONS=64]
Prints: sent, answered, non-200, achieved rate, p50/p90/p99/max in ms.
OPENLOOP_LOG=FILE also writes each answer: its scheduled time (seconds since the epoch), status,
latency in ms and body, tab-separated, one line each (Benchmarks/postgres.sh reads it)."""
import asyncio, os, sys, time
from urllib.parse import urlparse


async def main(url, path_file, rate, seconds, connections):
    target = urlparse(url)
    lines = open(path_file).read().splitlines()
    total = min(len(lines), int(rate * seconds))
    queue, latencies, statuses, answers = asyncio.Queue(), [], {}, []

    def encode(line):
        ts, sig, body = line.split("\t", 2)
        return ("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                "X-Slack-Request-Timestamp: %s\r\nX-Slack-Signature: %s\r\nContent-Length: %d\r\n\r\n%s"
                % (target.path, target.netloc, ts, sig, len(body), body)).encode()

    async def connection():
        reader = writer = None
        while True:
            item = await queue.get()
            if item is None:
                if writer:
                    writer.close()
                return
            scheduled, payload = item
            if writer is None:  # servers without keep-alive (gunicorn's sync workers) close after each answer
                reader, writer = await asyncio.open_connection(target.hostname, target.port)
            writer.write(payload)
            status_line = await reader.readline()
            length, close = 0, False
            while True:
                header = await reader.readline()
                if header in (b"\r\n", b""):
                    break
                name, _, value = header.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                if name.lower() == "connection" and value.strip().lower() == "close":
                    close = True
            body = await reader.readexactly(length)
            if close or not status_line:
                writer.close()
                reader = writer = None
            latencies.append(time.monotonic() - scheduled)
            status = status_line.split(b" ")[1].decode() if status_line else "closed"
            statuses[status] = statuses.get(status, 0) + 1
            answers.append((scheduled, status, latencies[-1], body))

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    payloads = [encode(line) for line in lines[:total]]
    start = time.monotonic()
    for i, payload in enumerate(payloads):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, payload))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.monotonic() - start
    if os.environ.get("OPENLOOP_LOG"):
        epoch = time.time() - time.monotonic()
        with open(os.environ["OPENLOOP_LOG"], "w") as log:
            for scheduled, status, latency, body in answers:
                text = body.decode(errors="replace").replace("\t", " ").replace("\n", " ")
                log.write("%.3f\t%s\t%.2f\t%s\n" % (epoch + scheduled, status, 1000 * latency, text))
    latencies.sort()

    def pct(p):
        return 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")

    bad = sum(n for s, n in statuses.items() if s != "200")
    print("sent %d answered %d non200 %d rate %.1f p50 %.2f p90 %.2f p99 %.2f max %.2f"
          % (total, len(latencies), bad, len(latencies) / elapsed, pct(0.5), pct(0.9), pct(0.99), pct(1.0) if latencies else 0))


asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 64))
