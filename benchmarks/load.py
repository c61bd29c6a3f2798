"""Load test of the demo: N concurrent API clients (and optionally one browser user) against a running app.

    python benchmarks/load.py                       # starts app.py on a free port, 16 clients, 64x64 inputs
    python benchmarks/load.py --url http://127.0.0.1:7860/ --clients 16 --size 256 --browser

Prints how many calls were served, latency percentiles, the browser user's wait (``--browser``: a Playwright
Chromium clicks Restore on the first example while the API clients are queued), and the app's peak and settled
resident memory (read from /proc when this script started the app). Figures, not assertions: the tests run a
small version of it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's packages sit one folder up


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(port: int) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return process
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                raise RuntimeError("the app did not start") from None
            time.sleep(0.5)


def memory_kb(pid: int, field: str) -> int | None:
    """VmRSS (now) or VmHWM (peak) of a process, from /proc (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


BROWSER_TIMEOUT_SECONDS = 600


def run_load(url: str, clients: int, size: int, method: str, task: str, browser: bool = False) -> dict:
    from gradio_client import Client, handle_file

    folder = Path(tempfile.mkdtemp(prefix="load-"))
    rng = np.random.default_rng(0)
    path = folder / "input.png"
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    latencies, errors = [], []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + (1 if browser else 0))

    def one_client(index: int) -> None:
        try:
            client = Client(url, verbose=False)
            start_gate.wait(timeout=300)
            started = time.perf_counter()
            client.predict(task, method, handle_file(str(path)), None, index, api_name="/restore")
            with lock:
                latencies.append(time.perf_counter() - started)
        except Exception as err:  # every failure is reported, not hidden
            with lock:
                errors.append(f"{type(err).__name__}: {err}")

    browser_wait = {}

    def browser_user() -> None:
        """One visitor clicking Restore just after the API burst. Any failure before the start breaks the gate
        (every client then stops with an error) instead of leaving them all waiting for it forever."""
        from playwright.sync_api import sync_playwright

        import restorers

        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        try:
            with sync_playwright() as playwright:
                page = playwright.chromium.launch(executable_path=chromium, headless=True,
                                                  args=["--no-sandbox"]).new_page()
                page.goto(url)
                page.get_by_role("button", name="Restore").first.wait_for(timeout=60_000)
                page.get_by_role("tab", name=restorers.get_task(task).title).click()
                panel = page.locator(f"#tab-{task}")
                panel.locator(".gallery-item, [data-testid='examples'] button, table.table tbody tr").first.click()
                page.wait_for_timeout(1000)
                start_gate.wait(timeout=300)
                time.sleep(1.0)  # arrive just after the API burst
                started = time.perf_counter()
                panel.locator(f"#restore-{task}").click()
                done = panel.locator(f"#cost-{task}").get_by_text("NFE")
                failed = page.locator(".toast-body.error")
                deadline = started + BROWSER_TIMEOUT_SECONDS
                while not (done.count() and done.first.is_visible()):
                    if failed.count():
                        raise RuntimeError(f"the page showed an error: {failed.first.inner_text()!r}")
                    if time.perf_counter() > deadline:
                        raise TimeoutError(f"no result within {BROWSER_TIMEOUT_SECONDS} s")
                    page.wait_for_timeout(250)
                browser_wait["seconds"] = time.perf_counter() - started
        except Exception as err:  # reported with the clients' errors, never a hang
            start_gate.abort()
            with lock:
                errors.append(f"browser user: {type(err).__name__}: {err}")

    threads = [threading.Thread(target=one_client, args=(i,)) for i in range(clients)]
    if browser:
        threads.append(threading.Thread(target=browser_user))
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"served": len(latencies), "clients": clients, "errors": errors, "wall": time.perf_counter() - began,
            "median": statistics.median(latencies) if latencies else float("nan"),
            "p90": percentile(latencies, 90), "max": max(latencies) if latencies else float("nan"),
            "browser_wait": browser_wait.get("seconds")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=None, help="a running app (default: start app.py on a free port)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--size", type=int, default=64, help="side of the square random LQ input")
    parser.add_argument("--method", default="resshift")
    parser.add_argument("--task", default="sr_x4")
    parser.add_argument("--browser", action="store_true", help="also time one browser user during the load")
    args = parser.parse_args(argv)
    process = None
    url = args.url
    if url is None:
        port = free_port()
        started = time.perf_counter()
        process = start_app(port)
        url = f"http://127.0.0.1:{port}/"
        print(f"cold start: {time.perf_counter() - started:.1f} s (app answering on {url})")
        print(f"memory after start: {memory_kb(process.pid, 'VmRSS') / 1024:.0f} MB")
    try:
        result = run_load(url, args.clients, args.size, args.method, args.task, args.browser)
        print(f"served {result['served']}/{result['clients']} {args.size}x{args.size} {args.method} calls in "
              f"{result['wall']:.1f} s; latency median {result['median']:.1f} s, p90 {result['p90']:.1f} s, "
              f"max {result['max']:.1f} s")
        if result["browser_wait"] is not None:
            print(f"browser user's wait during the load: {result['browser_wait']:.1f} s")
        for error in result["errors"]:
            print("error:", error)
        if process is not None:
            time.sleep(3)
            peak, now = memory_kb(process.pid, "VmHWM"), memory_kb(process.pid, "VmRSS")
            print(f"app memory: peak {peak / 1024:.0f} MB, settled {now / 1024:.0f} MB")
        return 0 if result["served"] == result["clients"] else 1
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
