"""Drive Debian's chromium in its own headless mode against a running `arb run --sandbox`.

Also a script: `python tests/ops/browser.py docs/status-page.png` runs `arb run --sandbox`
(the default scenario) for a few seconds and saves the status page's screenshot there.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
SIZE = (1280, 1000)
ARB = Path(sys.executable).parent / "arb"


def find_chromium() -> str | None:
    """The first Chromium-family binary on PATH, or None."""
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def _run(command: list[str], url: str) -> str:
    with tempfile.TemporaryDirectory(prefix="arb-chromium-") as profile:  # no shared lock
        done = subprocess.run(  # noqa: S603
            [*command, f"--user-data-dir={profile}", url],
            check=True,
            capture_output=True,
            text=True,
            timeout=90,
        )
    return done.stdout


def _headless(chromium: str, *args: str) -> list[str]:
    # --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--virtual-time-budget=4000",  # lets the page's script fetch and render first
        *args,
    ]


def screenshot(chromium: str, url: str, path: Path, size: tuple[int, int] = SIZE) -> None:
    """Save a PNG of `url` at `size`."""
    _run(_headless(chromium, f"--window-size={size[0]},{size[1]}", f"--screenshot={path}"), url)


def dump_dom(chromium: str, url: str) -> str:
    """The DOM of `url` after its scripts ran."""
    return _run(_headless(chromium, "--dump-dom"), url)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header (raises on anything else)."""
    data = path.read_bytes()[:24]
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_arb(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    """`arb run --sandbox ARGS` as a child process, its output in files in `cwd`.

    Files, not pipes: nobody reads a pipe while it runs, and a full one would stall it.
    """
    with (cwd / "arb.out").open("wb") as out, (cwd / "arb.err").open("wb") as err:
        return subprocess.Popen(  # noqa: S603
            [str(ARB), "run", "--sandbox", *args], env=env, cwd=cwd, stdout=out, stderr=err
        )


def wait_for_trades(base: str, count: int = 1, seconds: float = 60) -> dict[str, Any]:
    """/api/status once it shows `count` trades (a readiness deadline, not a timing target)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/status", timeout=5) as answer:  # noqa: S310
                body: dict[str, Any] = json.load(answer)
            if len(body["trades"]) >= count:
                return body
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"no {count} trades on {base} in {seconds} s")


def stop(child: subprocess.Popen[bytes]) -> int:
    """SIGINT, as Ctrl-C: trades in flight settle, then it exits."""
    child.send_signal(signal.SIGINT)
    try:
        return child.wait(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


def main(out: Path) -> None:
    """Screenshot the status page of a default-scenario sandbox run into `out`."""
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no chromium found: make browser")
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="arb-status-shot-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    env["ARB_STATUS__LISTEN"] = f"127.0.0.1:{port}"
    child = start_arb(env, work, "--duration", "120")
    try:
        wait_for_trades(f"http://127.0.0.1:{port}", count=6)
        screenshot(chromium, f"http://127.0.0.1:{port}/", out.resolve())
    finally:
        stop(child)
    print(f"saved {out} {png_size(out)}")  # noqa: T201


if __name__ == "__main__":
    main(Path(sys.argv[1]))
