"""A plain HTTP client for the delivery figure's baseline: how many requests a second the Slack
stub answers when nothing but HTTP is involved.

``python -m tests.bench.plain_client URL COUNT CONCURRENCY BODY_FILE`` POSTs the body in
``BODY_FILE`` to ``URL`` ``COUNT`` times from ``CONCURRENCY`` threads, one new connection per
request (as slack_sdk's webhook client does), and prints the elapsed seconds. It runs in its
own process, like the worker it is compared with.
"""

from __future__ import annotations

import sys
import threading
import time
import urllib.request
from pathlib import Path


def main(argv: list[str]) -> int:
    url, count, concurrency, body_file = argv[0], int(argv[1]), int(argv[2]), argv[3]
    body = Path(body_file).read_bytes()
    lock = threading.Lock()
    remaining = [count]
    failures = [0]

    def work() -> None:
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            request = urllib.request.Request(
                url, data=body, headers={"Content-Type": "application/json;charset=utf-8"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
                if response.status != 200:
                    failures[0] += 1

    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    print(f"{elapsed:.6f} {failures[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
