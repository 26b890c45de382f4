"""Run a real harvest against the bundled fake Canvas: what ``make demo`` does.

Starts ``python -m pageviews.testing`` in its own process (with 20 ms latency,
hosted Canvas's 30-day list window and the PageView History API (throttling off:
under Canvas's default bucket the export jobs' start costs alone would take
minutes), its clock set to 2015-04-20 and running), then harvests course 1693 from
2015-01-26 to 2015-04-19: the older part through history, the last 30 days
through the list endpoint; the summary says how many views came from each.
It leaves the three reports, CSV and JSON, the inactive-users report and the
summary page ``summary_1693_<range>.html`` in ``demo-out/``. Both commands are
printed exactly as they run, so they can be pasted to run the demo by hand; the
fake listens on port 18693 every time (``--port`` for another), so commands pasted
from an earlier demo still work.
"""

from __future__ import annotations

import argparse
import json
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

OUT = Path("demo-out")
#: The fake's port: the same for every demo (below the ports the system hands out).
PORT = 18693
#: The fake's clock and the harvester's "now" (hidden --now): the worlds are in 2015.
NOW = "2015-04-20T12:00:00Z"


def wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> dict[str, str]:
    """Wait until the fake Canvas says it is listening."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            ready: dict[str, str] = json.loads(path.read_text())
            return ready
        if proc.poll() is not None:
            sys.exit("the fake Canvas exited before it was ready")
        time.sleep(0.05)
    sys.exit("the fake Canvas did not start in time")


def demo_port(wanted: int) -> int:
    """``wanted`` if it is free, else a port free right now (the printed command names it).

    Every demo's fake listens on the same port, so commands pasted from an earlier
    demo reach a Canvas at the address its state store holds data from.
    """
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", wanted))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    if port != wanted:
        print(f"port {wanted} is in use (an earlier demo's fake still running?); using {port}")
    return port


def show(command: list[str]) -> None:
    print(f"$ {shlex.join(command)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="demo", help="the fake's world (default demo)")
    parser.add_argument("--latency", default="0.02", help="the fake's seconds per request")
    parser.add_argument("--port", type=int, default=PORT, help=f"the fake's port (default {PORT})")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    ready_file, token_file = OUT / "fake-canvas.json", OUT / "oauthtoken.txt"
    ready_file.unlink(missing_ok=True)
    # A fresh store each demo: one left by a demo on another port holds another Canvas.
    (OUT / "pageviews-state.sqlite").unlink(missing_ok=True)
    port = demo_port(args.port)
    fake_command = [
        sys.executable, "-m", "pageviews.testing",
        "--port", str(port), "--preset", args.preset, "--latency", args.latency,
        "--throttle", "off", "--token-file", str(token_file), "--ready-file", str(ready_file),
        "--retention-days", "30", "--history", "--now", NOW, "--clock-runs",
        "--history-jobs", "10", "--history-run-seconds", "1",
    ]  # fmt: skip
    print("The fake Canvas (writes the admin token to the token file):")
    show(fake_command)
    fake = subprocess.Popen(fake_command, stdout=subprocess.DEVNULL)
    try:
        base_url = wait_for(ready_file, fake)["base_url"]
        command = [
            sys.executable, "-m", "pageviews",
            "1693", "--start_time", "2015-01-26", "--end_time", "2015-04-19",
            "--enrollment_types", "StudentEnrollment", "--history", "auto", "--now", NOW,
            "--base-url", base_url, "--token-file", str(token_file),
            "--out-dir", str(OUT), "--fresh", "--retry-base-wait", "0.2",
        ]  # fmt: skip
        print("The harvest (to run it again: start the fake as above, then paste this):")
        show(command)
        started = time.monotonic()
        code = subprocess.call(command)
        print(f"demo harvest: exit {code}, {time.monotonic() - started:.1f}s wall")
        for report in sorted(OUT.glob("*pageviews_*")):
            print(f"  {report}  ({report.stat().st_size:,} bytes)")
        for summary in sorted(OUT.glob("summary_*.html")):
            print(f"The course at a glance (open in a browser): {summary.resolve()}")
        return code
    finally:
        fake.terminate()
        fake.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
