"""Headless Chromium for the print tests: find it, and drive it over the DevTools protocol on a
pipe (`--remote-debugging-pipe`: JSON messages ending in NUL on file descriptors 3 and 4), so no
websocket client or browser-automation package is needed."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from scripts.headless_chromium import find_chromium, headless_command

__all__ = ["Browser", "chromium_or_skip", "headless_command"]


def chromium_or_skip() -> str:
    """The Chromium binary, or skip the test (`make system-deps` installs it)."""
    found = find_chromium()
    if found is None:
        pytest.skip("headless Chromium not installed: run scripts/install-chromium.sh")
    return found


class Browser:
    """One headless Chromium with one page, driven over the DevTools pipe."""

    def __init__(self, binary: str, profile: Path, timeout: float = 120.0) -> None:
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        # the browser reads descriptor 3 and writes 4: put the pipe's ends there in the child
        # (via descriptors above 9 first, so neither end is overwritten by the other's move)
        def to_3_and_4() -> None:
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser, from_browser)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.process = subprocess.Popen(
            headless_command(binary, profile, "--remote-debugging-pipe"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,  # 3 and 4 must survive; Python's own descriptors close on exec
            preexec_fn=to_3_and_4,
        )
        os.close(to_browser)
        os.close(from_browser)
        self.timeout = timeout
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.call("Page.enable", session=True)

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (events on the way are kept)."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def open(self, url: str) -> None:
        """Load `url` and wait for its load event."""
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._receive())

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        found = self.call(
            "Runtime.evaluate",
            session=True,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in found:
            raise RuntimeError(found["exceptionDetails"].get("text", "script error"))
        return found["result"].get("value")

    def print_media(self, width_px: int, height_px: int) -> None:
        """Lay the page out as it prints: print media, the printable area's width."""
        self.call("Emulation.setEmulatedMedia", session=True, media="print")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width_px,
            height=height_px,
            deviceScaleFactor=1,
            mobile=False,
        )

    def pdf(self) -> bytes:
        """The page printed as Chromium prints it (its CSS page size, no browser header)."""
        self.call("Emulation.clearDeviceMetricsOverride", session=True)
        self.call("Emulation.setEmulatedMedia", session=True, media="")
        found = self.call(
            "Page.printToPDF",
            session=True,
            preferCSSPageSize=True,
            printBackground=True,
            displayHeaderFooter=False,
        )
        return base64.b64decode(found["data"])

    def close(self) -> None:
        """End the browser this object started."""
        with contextlib.suppress(RuntimeError, OSError, TimeoutError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        os.close(self._write)
        os.close(self._read)
