"""Load the BSG sandbox with 100 SMS campaigns of 10,000 messages each, over HTTP.

Starts `python -m sandbox` as its own process (so its RSS is the sandbox's alone), sends
100 x POST /api/campaigns/sms/send with 10,000 phones and reference ids each, then times a few
reads that must stay fast at a million messages, and prints the figures.

Then the campaign engine's load (issue 16): `--parts` POST /api/campaigns/sms/send-individual of
`--size` personalised messages with reference ids, sent by `--clients` threads at once (bodies
encoded beforehand, so the clients only wait), as two worker processes submit. It prints the
time per part and the sandbox's CPU seconds per part, and checks that the sandbox holds every
message once.

    .venv/bin/python bench/sandbox_load.py [--campaigns 100] [--size 10000] [--parts 40]
                                           [--clients 2]
"""

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def rss_mib(pid: int) -> float | None:
    """Resident set size of a process from /proc (Linux); None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def start_sandbox(api_key: str) -> tuple[subprocess.Popen[str], str]:
    # A high speed (campaigns finish at once) and a balance that pays for a million SMS.
    options = ["--port", "0", "--speed", "1000", "--balance", "1000000"]
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", *options, "--api-key", api_key],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # "BSG sandbox listening on http://127.0.0.1:PORT"
    return process, first.strip().rsplit(" ", 1)[-1]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process from /proc (Linux); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Personalised texts as the engine sends them: a first name and a city in one template.
NAMES = ["Olena", "Taras", "Ivan", "Maria", "Petro", "Zoë", "Søren", "Renée"]
CITIES = ["Kyiv", "Lviv", "Odesa", "Dnipro", "Kharkiv", "Ternopil"]


def individual_body(part: int, size: int) -> bytes:
    first = part * size
    return json.dumps(
        {
            "messages": [
                {
                    "phone": 447_900_000_000 + first + i,
                    "text": f"Hi {NAMES[(first + i) % len(NAMES)]}, the "
                    f"{CITIES[(first + i) % len(CITIES)]} store has 20% off everything this "
                    "weekend. Show this SMS at the till. Reply STOP to opt out.",
                    "sender": "BenchShop",
                    "reference_id": f"p{part}m{i}",
                }
                for i in range(size)
            ],
            "validity": 72,
            "tariff_code": 0,
        }
    ).encode()


def parallel_individual(
    url: str, bearer: str, pid: int, *, parts: int, size: int, clients: int
) -> dict[str, float]:
    """Sends `parts` send-individual bodies from `clients` threads at once; the figures."""
    bodies = [individual_body(part, size) for part in range(parts)]
    durations: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {bearer}"
        session.headers["Content-Type"] = "application/json"
        barrier.wait()
        for body in bodies[number::clients]:
            seconds, answer = timed(
                lambda body=body: session.post(
                    f"{url}/api/campaigns/sms/send-individual", data=body, timeout=120
                )
            )
            with lock:
                durations.append(seconds)
                if answer.status_code != 200:
                    failures.append(answer.text[:200])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = cpu_seconds(pid)
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    cpu_after = cpu_seconds(pid)
    if failures:
        raise RuntimeError(f"{len(failures)} parts refused, first: {failures[0]}")
    return {
        "wall": wall,
        "median": statistics.median(durations),
        "cpu": (cpu_after - cpu_before) if cpu_before is not None and cpu_after else -1.0,
    }


def timed(call: Callable[[], requests.Response]) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    answer = call()
    return time.perf_counter() - started, answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--parts", type=int, default=40, help="send-individual parts")
    parser.add_argument("--clients", type=int, default=2, help="threads sending the parts")
    args = parser.parse_args(argv)
    if args.campaigns < 1 or args.size < 1 or args.parts < 0 or args.clients < 1:
        parser.error("--campaigns, --size and --clients must be at least 1, --parts 0 or more")

    api_key = "test_" + secrets.token_hex(8)
    process, url = start_sandbox(api_key)
    try:
        session = requests.Session()
        bearer = session.post(f"{url}/api/auth/login", json={"api_key": api_key}).json()["bearer"]
        session.headers["Authorization"] = f"Bearer {bearer}"
        rss_before = rss_mib(process.pid)

        durations = []
        campaign_ids = []
        started = time.perf_counter()
        for number in range(args.campaigns):
            body = json.dumps(
                {
                    "sender": "LoadTest",
                    "text": f"Campaign {number}: hello from the load test",
                    "phones": [
                        {
                            "number": 380_500_000_000 + number * args.size + i,
                            "reference_id": f"c{number}m{i}",
                        }
                        for i in range(args.size)
                    ],
                }
            )
            seconds, answer = timed(
                lambda body=body: session.post(
                    f"{url}/api/campaigns/sms/send",
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=60,
                )
            )
            answer.raise_for_status()
            campaign_ids.append(answer.json()["data"]["id"])
            durations.append(seconds)
        total = time.perf_counter() - started
        rss_after = rss_mib(process.pid)

        last = campaign_ids[-1]
        some_reference = f"c{args.campaigns // 2}m{args.size // 2}"
        taken_reference = f"c{args.campaigns - 1}m{args.size - 1}"
        reads = {
            "GET /api/messages?filter[reference_id]": lambda: session.get(
                f"{url}/api/messages", params={"filter[reference_id]": some_reference}
            ),
            "GET /api/messages?filter[campaign_id] (page 500)": lambda: session.get(
                f"{url}/api/messages",
                params={
                    "filter[campaign_id]": last,
                    "page[limit]": 500,
                    "page[offset]": max(0, args.size - 500),
                },
            ),
            "GET /api/campaigns/{id}/detail": lambda: session.get(
                f"{url}/api/campaigns/{last}/detail"
            ),
            "GET /api/campaigns (page of 100)": lambda: session.get(
                f"{url}/api/campaigns", params={"page[limit]": 100}
            ),
            "POST sms/send with 1 taken reference id (422)": lambda: session.post(
                f"{url}/api/campaigns/sms/send",
                json={
                    "sender": "LoadTest",
                    "text": "dup",
                    "phones": [{"number": 380501234567, "reference_id": taken_reference}],
                },
            ),
        }
        read_times = {}
        for name, call in reads.items():
            seconds, answer = timed(call)
            read_times[name] = (seconds, answer.status_code)

        messages = args.campaigns * args.size
        print(f"sandbox load: {args.campaigns} campaigns x {args.size:,} messages = {messages:,}")
        print(f"  total {total:.1f} s, {messages / total:,.0f} msg/s (building bodies included)")
        print(
            f"  per request of {args.size:,} messages (upload, validation, insert, answer): "
            f"median {statistics.median(durations):.3f} s, "
            f"min {min(durations):.3f} s, max {max(durations):.3f} s"
        )
        if rss_before is not None and rss_after is not None:
            print(f"  sandbox RSS: {rss_before:.0f} MiB before, {rss_after:.0f} MiB after")
        for name, (seconds, status) in read_times.items():
            print(f"  {name}: {seconds * 1000:.0f} ms (HTTP {status})")

        if args.parts:
            before = session.get(f"{url}/_sandbox/messages").json()["data"]
            figures = parallel_individual(
                url,
                bearer,
                process.pid,
                parts=args.parts,
                size=args.size,
                clients=args.clients,
            )
            after = session.get(f"{url}/_sandbox/messages").json()["data"]
            sent = args.parts * args.size
            added = {name: after[name] - before[name] for name in after}
            print(
                f"send-individual: {args.parts} parts x {args.size:,} messages from "
                f"{args.clients} clients at once"
            )
            print(
                f"  wall {figures['wall']:.1f} s, {figures['wall'] / args.parts:.3f} s a part, "
                f"{sent / figures['wall']:,.0f} messages/s; median answer {figures['median']:.3f} s"
            )
            if figures["cpu"] >= 0:
                print(
                    f"  sandbox CPU {figures['cpu']:.1f} s, {figures['cpu'] / args.parts:.3f} s "
                    "a part"
                )
            print(
                f"  at the sandbox: {added['messages']:,} messages, {added['phones']:,} phones, "
                f"{added['reference_ids']:,} reference ids (sent {sent:,})"
            )
            if not added["messages"] == added["phones"] == added["reference_ids"] == sent:
                print("  FAILED: the sandbox does not hold each message once", file=sys.stderr)
                return 1
    finally:
        process.terminate()
        process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
