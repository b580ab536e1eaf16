"""Open a page in headless Chromium: check that it renders, and take screenshots.

Chromium is driven through the DevTools protocol over a pair of pipes
(``--remote-debugging-pipe``: JSON messages separated by NUL bytes, Chromium reading
file descriptor 3 and writing 4), so nothing beyond the standard library and a
``chromium`` executable is needed: no web socket client, no browser download.

Example:
    >>> check = check_in_browser("runs/demo/report.html")  # doctest: +SKIP
    >>> check.ok, check.images_rendered, check.images_total  # doctest: +SKIP
    (True, 12, 12)
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.request import url2pathname

logger = logging.getLogger(__name__)

# Looked for in this order after $AELAB_CHROMIUM; Debian's package installs the first.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Headless, offline and quiet: no GPU, no sandbox (root in containers), no network chatter.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--disable-breakpad",
    "--hide-scrollbars",
    "--mute-audio",
)

# Runs in the page once it has loaded: waits for every image to decode, then lists the
# images and every reference to something outside the page.
_INSPECT_PAGE = r"""
(async () => {
  const images = Array.from(document.images);
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
  const refs = [];
  for (const el of document.querySelectorAll("[src], [href], [srcset], [poster], [data]")) {
    for (const name of ["src", "href", "srcset", "poster", "data"]) {
      const value = el.getAttribute(name);
      if (value !== null && !(name === "data" && el.tagName !== "OBJECT")) {
        refs.push({ tag: el.tagName.toLowerCase(), attr: name, value: value });
      }
    }
  }
  const css = Array.from(document.querySelectorAll("style")).map((s) => s.textContent);
  for (const el of document.querySelectorAll("[style]")) css.push(el.getAttribute("style"));
  for (const text of css) {
    for (const m of text.matchAll(/url\(\s*['"]?([^'")]*)/g)) {
      refs.push({ tag: "style", attr: "url", value: m[1] });
    }
    for (const m of text.matchAll(/@import\s+['"]([^'"]*)/g)) {
      refs.push({ tag: "style", attr: "import", value: m[1] });
    }
  }
  return {
    title: document.title,
    images: images.map((img) => ({
      alt: img.alt,
      src: (img.getAttribute("src") || "").slice(0, 80),
      complete: img.complete,
      width: img.naturalWidth,
      height: img.naturalHeight,
    })),
    refs: refs,
    ids: Array.from(document.querySelectorAll("[id]")).map((el) => el.id),
    names: Array.from(document.querySelectorAll("a[name]")).map((el) => el.name),
  };
})()
"""


# Runs in the child: puts the pipe ends at fds 3 and 4, then becomes Chromium.
_PLACE_PIPES = (
    "import os, sys; "
    "fd_in, fd_out = int(sys.argv[1]), int(sys.argv[2]); "
    "os.dup2(fd_in, 3); os.dup2(fd_out, 4); os.close(fd_in); os.close(fd_out); "
    "os.execv(sys.argv[3], sys.argv[3:])"
)


class BrowserError(RuntimeError):
    """Chromium could not be found, started, or driven."""


class BrowserCheck(NamedTuple):
    """What headless Chromium saw when it opened a page.

    Attributes:
        url: The page opened.
        title: The page's ``<title>``.
        images_total: ``<img>`` elements on the page.
        images_rendered: Those that decoded to a picture (``naturalWidth > 0``).
        broken_images: Alt text or source of each image that did not render.
        console_errors: Console errors, uncaught exceptions and failed loads.
        external_refs: References to anything not inside the page itself (not a
            ``data:`` URI, not a ``#fragment``): the page is not self-contained.
        missing_refs: References that lead nowhere: a ``#fragment`` without its element,
            a local file that does not exist, a resource that failed to load. Web
            addresses are not fetched; they show up in ``external_refs`` only.
    """

    url: str
    title: str
    images_total: int
    images_rendered: int
    broken_images: tuple[str, ...]
    console_errors: tuple[str, ...]
    external_refs: tuple[str, ...]
    missing_refs: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether the page is self-contained, rendered whole, and logged no errors."""
        return not (
            self.broken_images or self.console_errors or self.external_refs or self.missing_refs
        )

    def problems(self) -> list[str]:
        """Each failed check as one line of text, for an assertion message."""
        lines = [f"image did not render: {name}" for name in self.broken_images]
        lines += [f"console error: {text}" for text in self.console_errors]
        lines += [f"not self-contained: {ref}" for ref in self.external_refs]
        lines += [f"leads nowhere: {ref}" for ref in self.missing_refs]
        return lines


def find_chromium() -> Path | None:
    """The Chromium executable to use, or None when there is none.

    ``$AELAB_CHROMIUM`` wins when set; otherwise the first of :data:`CHROMIUM_NAMES` on
    the ``PATH``.
    """
    override = os.environ.get("AELAB_CHROMIUM")
    if override:
        return Path(override) if os.access(override, os.X_OK) else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def check_in_browser(
    path: str | Path, chromium: str | Path | None = None, timeout: float = 60.0
) -> BrowserCheck:
    """Open a local HTML file in headless Chromium and report what rendered and what failed.

    Args:
        path: The HTML file.
        chromium: The browser executable; found with :func:`find_chromium` when None.
        timeout: Seconds allowed for the whole check, browser start included.

    Returns:
        The images, references and console errors seen; ``.ok`` sums them up.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        BrowserError: No Chromium, or it failed to start or answer in time.
    """
    with HeadlessChromium(chromium, timeout=timeout) as browser:
        return browser.check(path)


def screenshot(
    path: str | Path,
    png_path: str | Path,
    width: int = 1280,
    chromium: str | Path | None = None,
    timeout: float = 60.0,
) -> Path:
    """Save a PNG of the whole page, ``width`` CSS pixels wide and as tall as the page.

    Args:
        path: The HTML file.
        png_path: Where to write the screenshot; its folder is created if needed.
        width: Viewport width in CSS pixels.
        chromium: The browser executable; found with :func:`find_chromium` when None.
        timeout: Seconds allowed, browser start included.

    Returns:
        ``png_path``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        BrowserError: No Chromium, or it failed to start or answer in time.
    """
    with HeadlessChromium(chromium, timeout=timeout) as browser:
        return browser.screenshot(path, png_path, width=width)


class HeadlessChromium:
    """A headless Chromium process with a fresh profile, driven over DevTools pipes.

    Use it as a context manager; the process and its profile folder are removed on exit.
    Each :meth:`check` or :meth:`screenshot` opens the page in a new tab.

    Args:
        chromium: The browser executable; found with :func:`find_chromium` when None.
        timeout: Seconds allowed for each call, browser start included.
    """

    def __init__(self, chromium: str | Path | None = None, timeout: float = 60.0) -> None:
        self.chromium = chromium
        self.timeout = timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._to_browser = -1
        self._from_browser = -1
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # -- life cycle ----------------------------------------------------------------------

    def __enter__(self) -> HeadlessChromium:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the browser and wait until it answers.

        Raises:
            BrowserError: There is no Chromium, or it did not start.
        """
        executable = Path(self.chromium) if self.chromium else find_chromium()
        if executable is None or not os.access(executable, os.X_OK):
            raise BrowserError(
                f"no Chromium found (looked for $AELAB_CHROMIUM, then {', '.join(CHROMIUM_NAMES)}"
                " on PATH); install it with scripts/install-browser.sh"
            )
        self._profile = tempfile.TemporaryDirectory(
            prefix="aelab-chromium-", ignore_cleanup_errors=True
        )
        profile = Path(self._profile.name)

        # Chromium's ends of the two pipes are moved to descriptors >= 10, so they cannot
        # clash with 3 and 4; in the child a short Python step puts them at 3 and 4 and
        # then becomes Chromium.
        browser_reads, we_write = os.pipe()
        we_read, browser_writes = os.pipe()
        child_in = fcntl.fcntl(browser_reads, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(browser_writes, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(browser_reads)
        os.close(browser_writes)
        command = [
            str(executable),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile / 'profile'}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        logger.debug("starting %s", shlex.join(command))
        try:
            with open(profile / "chromium.log", "wb") as log:
                self._process = subprocess.Popen(
                    [sys.executable, "-c", _PLACE_PIPES, str(child_in), str(child_out), *command],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    pass_fds=(child_in, child_out),
                    start_new_session=True,
                )
        except OSError as error:
            os.close(we_write)
            os.close(we_read)
            raise BrowserError(f"could not start {executable}: {error}") from error
        finally:
            os.close(child_in)
            os.close(child_out)
        self._to_browser, self._from_browser = we_write, we_read
        os.set_blocking(self._from_browser, False)
        try:
            self.send("Browser.getVersion", deadline=time.monotonic() + self.timeout)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Ask the browser to quit, kill it if it will not, and remove its profile."""
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(OSError):  # it may be gone already
                self._write({"id": self._new_id(), "method": "Browser.close"})
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                logger.warning("Chromium did not quit when asked; killing it")
            # Its helper processes share its process group; none may outlive it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        for fd in (self._to_browser, self._from_browser):
            if fd >= 0:
                os.close(fd)
        self._to_browser = self._from_browser = -1
        if self._profile is not None:
            self._profile.cleanup()
            self._profile = None

    # -- what it is for ------------------------------------------------------------------

    def check(self, path: str | Path) -> BrowserCheck:
        """Open ``path`` and report what rendered and what failed; see :func:`check_in_browser`."""
        url = _file_url(path)
        deadline = time.monotonic() + self.timeout
        session = self._open(url, deadline, width=1280, height=900)
        page = self.send(
            "Runtime.evaluate",
            {"expression": _INSPECT_PAGE, "awaitPromise": True, "returnByValue": True},
            session=session,
            deadline=deadline,
        )
        if "exceptionDetails" in page:
            raise BrowserError(f"inspecting {url} failed: {page['exceptionDetails']}")
        found = page["result"]["value"]
        # Late console messages (an image failing after load) arrive within a moment.
        self._drain(time.monotonic() + 0.2)

        images = found["images"]
        broken = tuple(
            img["alt"] or img["src"] for img in images if not (img["complete"] and img["width"])
        )
        anchors = set(found["ids"]) | set(found["names"])
        external, missing = [], []
        looked_for: set[str] = set()
        for ref in found["refs"]:
            value = ref["value"].strip()
            label = f"<{ref['tag']} {ref['attr']}={value[:120]!r}>"
            if value.startswith("data:"):
                continue
            if value.startswith("#"):
                if value not in ("#", "#top") and value[1:] not in anchors:
                    missing.append(label)
                continue
            external.append(label)
            # A local file can be looked for; a web address cannot be checked offline.
            target = urldefrag(urljoin(url, value)).url
            if urlsplit(target).scheme == "file":
                looked_for.add(target)
                if not Path(url2pathname(urlsplit(target).path)).exists():
                    missing.append(label)
        missing.extend(
            f"{failed} ({why})"
            for failed, why in self._failed_loads(session)
            if urldefrag(failed).url not in looked_for
        )

        return BrowserCheck(
            url=url,
            title=found["title"],
            images_total=len(images),
            images_rendered=len(images) - len(broken),
            broken_images=broken,
            console_errors=tuple(self._console_errors(session)),
            external_refs=tuple(external),
            missing_refs=tuple(missing),
        )

    def screenshot(self, path: str | Path, png_path: str | Path, width: int = 1280) -> Path:
        """Save a full-page PNG of ``path``; see :func:`screenshot`."""
        url = _file_url(path)
        deadline = time.monotonic() + self.timeout
        session = self._open(url, deadline, width=width, height=900)
        metrics = self.send("Page.getLayoutMetrics", session=session, deadline=deadline)
        height = int(min(metrics["cssContentSize"]["height"], 16_000))
        self._viewport(session, width, height, deadline)
        shot = self.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True},
            session=session,
            deadline=deadline,
        )
        png_path = Path(png_path)
        png_path.parent.mkdir(parents=True, exist_ok=True)
        png_path.write_bytes(base64.b64decode(shot["data"]))
        return png_path

    # -- the protocol --------------------------------------------------------------------

    def _open(self, url: str, deadline: float, width: int, height: int) -> str:
        """A new tab at ``url``, loaded; returns its DevTools session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, deadline=deadline)
        attached = self.send(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            deadline=deadline,
        )
        session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session, deadline=deadline)
        self._viewport(session, width, height, deadline)
        self.send("Page.navigate", {"url": url}, session=session, deadline=deadline)

        # A load event may still be the blank tab's; wait until the page itself is loaded.
        seen = 0
        while True:
            seen = self._wait_for("Page.loadEventFired", session, deadline, after=seen)
            state = self.send(
                "Runtime.evaluate",
                {"expression": "[location.href, document.readyState]", "returnByValue": True},
                session=session,
                deadline=deadline,
            )
            if state["result"]["value"] == [url, "complete"]:
                return session

    def _viewport(self, session: str, width: int, height: int, deadline: float) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
            deadline=deadline,
        )

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """Send one DevTools command and wait for its answer.

        Args:
            method: The command, e.g. ``"Page.navigate"``.
            params: Its parameters.
            session: The tab's session id; None for the browser itself.
            deadline: ``time.monotonic()`` by which the answer must come.

        Returns:
            The command's ``result``.

        Raises:
            BrowserError: The browser answered with an error, died, or was too slow.
        """
        deadline = deadline if deadline is not None else time.monotonic() + self.timeout
        message: dict[str, Any] = {"id": self._new_id(), "method": method}
        if params:
            message["params"] = params
        if session:
            message["sessionId"] = session
        self._write(message)
        while True:
            reply = self._read(deadline, waiting_for=method)
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise BrowserError(f"{method} failed: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def _wait_for(self, event: str, session: str, deadline: float, after: int = 0) -> int:
        """Wait for ``event`` in ``session`` beyond the first ``after`` events collected.

        Returns:
            How many events had been collected up to and including it.
        """
        while True:
            for index in range(after, len(self._events)):
                seen = self._events[index]
                if seen["method"] == event and seen.get("sessionId") == session:
                    return index + 1
            after = len(self._events)
            reply = self._read(deadline, waiting_for=event)
            if "method" in reply:
                self._events.append(reply)

    def _drain(self, until: float) -> None:
        """Collect the events that arrive before ``until``."""
        while True:
            try:
                reply = self._read(until, waiting_for="")
            except TimeoutError:
                return
            if "method" in reply:
                self._events.append(reply)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _write(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\0"
        while data:
            written = os.write(self._to_browser, data)
            data = data[written:]

    def _read(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        """The next message from the browser."""
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                if not waiting_for:
                    raise TimeoutError
                raise BrowserError(f"Chromium did not answer {waiting_for} in time{self._log()}")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium quit while waiting for {waiting_for}{self._log()}")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def _log(self) -> str:
        """The tail of Chromium's own output, for an error message."""
        if self._profile is None:
            return ""
        log = Path(self._profile.name) / "chromium.log"
        text = log.read_text(errors="replace").strip() if log.exists() else ""
        return f"; Chromium said:\n{text[-2000:]}" if text else ""

    def _console_errors(self, session: str) -> list[str]:
        errors = []
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            params = event.get("params", {})
            if event["method"] == "Runtime.consoleAPICalled" and params["type"] in (
                "error",
                "assert",
            ):
                args = params.get("args", [])
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
            elif event["method"] == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                exception = details.get("exception", {})
                errors.append(exception.get("description") or details.get("text", "exception"))
            elif event["method"] == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                where = f" ({entry['url']})" if entry.get("url") else ""
                errors.append(f"{entry['text']}{where}")
        return errors

    def _failed_loads(self, session: str) -> list[tuple[str, str]]:
        """(URL, reason) of each request of the page that failed."""
        requests = {}
        failed = []
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            params = event.get("params", {})
            if event["method"] == "Network.requestWillBeSent":
                requests[params["requestId"]] = params["request"]["url"]
            elif event["method"] == "Network.loadingFailed" and not params.get("canceled"):
                url = requests.get(params["requestId"], params["requestId"])
                failed.append((url, params.get("errorText", "failed")))
        return failed


def _file_url(path: str | Path) -> str:
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no page to open at {path}")
    return path.as_uri()
