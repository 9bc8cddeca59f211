"""Hearth's nginx: write a site file, check it with `nginx -t`, reload — or put the old one back."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from functools import cache
from pathlib import Path

from panel.proxy.render import NginxLayout, render_main_config


class ProxyError(Exception):
    pass


class Nginx:
    def __init__(self, binary: str, layout: NginxLayout) -> None:
        self.binary = binary
        self.layout = layout
        self.directory = Path(layout.directory)
        self.sites = Path(layout.sites)
        self.main_config = self.directory / "nginx.conf"

    # The master process -----------------------------------------------------------------
    def _pid(self) -> int | None:
        try:
            pid = int((self.directory / "nginx.pid").read_text().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def is_running(self) -> bool:
        return self._pid() is not None

    def _write_main_config(self) -> None:
        for sub in ("sites", "logs", "tmp", "certs", "acme-challenge"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        # Private keys live under certs/; only root (nginx's master) reads them.
        (self.directory / "certs").chmod(0o700)
        self.main_config.write_text(render_main_config(self.layout))

    def ensure_running(self) -> None:
        """Write the main config and start nginx, or reload it if it already runs."""
        self._write_main_config()
        self.test()
        if self.is_running():
            self.reload()
        else:
            self._run([self.binary, "-c", str(self.main_config)])

    def stop(self) -> None:
        pid = self._pid()
        if pid is not None:
            os.kill(pid, signal.SIGQUIT)
            for _ in range(100):
                if self._pid() is None:
                    return
                time.sleep(0.05)

    def test(self) -> None:
        self._run([self.binary, "-t", "-q", "-c", str(self.main_config)])

    def _workers(self, master: int) -> set[int]:
        try:
            return set(map(int, Path(f"/proc/{master}/task/{master}/children").read_text().split()))
        except OSError:
            return set()

    def _retired(self, pid: int) -> bool:
        try:
            return b"shutting down" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return True

    def reload(self) -> None:
        """Reload and wait until only new workers accept connections.

        nginx reloads asynchronously: for a moment the old workers still accept. Waiting until
        they are gone or retiring means a request made right after sees the new config.
        """
        master = self._pid()
        if master is None:
            return
        before = self._workers(master)
        os.kill(master, signal.SIGHUP)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self._workers(master) - before and all(self._retired(pid) for pid in before):
                # A retiring worker renames itself just before it closes its listening sockets.
                time.sleep(0.02)
                return
            time.sleep(0.01)

    def wait_until_retired_workers_exit(self, timeout: float) -> bool:
        """Wait until the workers a reload retired have exited; True when none is left.

        A retiring worker still finishes the requests it had, on the old configuration:
        the old upstream of a rolling update must keep answering until then.
        """
        master = self._pid()
        if master is None:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(self._retired(pid) for pid in self._workers(master)):
                return True
            time.sleep(0.02)
        return False

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise ProxyError(result.stderr.strip() or f"{command[0]} exited {result.returncode}")

    # Site files -------------------------------------------------------------------------
    def site_path(self, name: str) -> Path:
        return self.sites / f"{name}.conf"

    def apply_site(self, name: str, content: str) -> None:
        """Install a site file; if nginx rejects the result, the previous file comes back."""
        path = self.site_path(name)
        self.sites.mkdir(parents=True, exist_ok=True)
        previous = path.read_text() if path.exists() else None
        if previous == content and self.is_running():
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(content)
        os.replace(tmp, path)
        try:
            self.test()
        except ProxyError as exc:
            if previous is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(previous)
            raise ProxyError(f"nginx rejected the configuration for {name}: {exc}") from None
        self.reload()

    def replace_files(self, files: dict[Path, bytes]) -> None:
        """Swap in new files (certificates and keys) and reload; if `nginx -t` rejects them,
        the old files come back, so whatever served before keeps serving."""
        previous = {path: path.read_bytes() if path.exists() else None for path in files}
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.touch(mode=0o600)
            tmp.write_bytes(content)
            os.replace(tmp, path)
        try:
            self.test()
        except ProxyError as exc:
            for path, content in previous.items():
                if content is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(content)
            raise ProxyError(f"nginx rejected the new files: {exc}") from None
        self.reload()

    def remove_site(self, name: str) -> None:
        path = self.site_path(name)
        if path.exists():
            path.unlink()
            self.reload()

    def site_names(self) -> list[str]:
        return sorted(p.stem for p in self.sites.glob("*.conf"))


@cache
def get_nginx() -> Nginx:
    from django.conf import settings

    layout = NginxLayout(
        directory=str(settings.HEARTH_NGINX_DIR),
        listen=settings.HEARTH_HTTP_LISTEN,
        tls_listen=settings.HEARTH_HTTPS_LISTEN,
    )
    return Nginx(settings.HEARTH_NGINX_BINARY, layout)
