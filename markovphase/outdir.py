"""Safe output: atomic files and an output folder owned by one scan at a time.

* :func:`atomic_path` / :func:`write_text_atomic` -- a file appears complete or
  not at all (temporary file in the same folder + ``os.replace``), so a full
  disk or a kill never leaves a truncated ``results.json`` beside fresh files;
* :func:`check_writable_dir` -- whether a folder can be written, checked before
  any work starts;
* :class:`OutputDir` -- a report folder owned by one scan: a lock file against
  concurrent writers and a manifest recording which data and parameters the
  report in the folder comes from, so that a second, different scan is refused
  (a rerun of the same scan resumes; ``force=True`` replaces it). The manifest
  is written (:meth:`OutputDir.commit`) once the scan has finished, just before
  its report files: a scan refused or failed before that leaves the folder
  as it was.

Errors are ``ValueError`` (a folder in use or holding another scan) or
``OSError`` (a folder that cannot be written), with a message naming the
folder and the parameter.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "write_text_atomic", "check_writable_dir", "OutputDir",
           "MANIFEST", "LOCK"]

#: the manifest file of a report folder (which scan it holds)
MANIFEST = ".markovphase-scan.json"
#: the lock file of a report folder (pid and host of the writer)
LOCK = ".markovphase.lock"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    Whatever is written to the yielded path becomes ``path`` only when the
    block ends without an exception (``os.replace``, atomic on POSIX and
    Windows within one folder); on an exception the temporary file is removed
    and ``path`` keeps its previous content. The temporary name keeps the
    suffix, so writers that infer a format from it (``savefig``) still work.
    """
    path = Path(path)
    while True:  # created with the umask's permissions (mkstemp would make it owner-only)
        tmp = path.parent / f".tmp-{path.stem}-{secrets.token_hex(4)}{path.suffix}"
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def check_writable_dir(path: str | os.PathLike, name: str = "out_dir") -> Path:
    """Create the folder ``path`` if needed and check that files can be written in it.

    Raises ``OSError`` whose message names ``name`` and ``path`` (e.g. a
    read-only folder, a path below a regular file, a full disk).
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".tmp-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OSError(exc.errno, f"{name}={os.fspath(path)!r} is not a writable folder "
                                 f"({reason}); choose another one") from None
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class OutputDir:
    """A report folder owned by one scan: lock, manifest, writability (a context manager).

    Entering the context checks that ``path`` can be written, takes the lock
    file ``path/.markovphase.lock`` (refused while another live process holds
    it; a lock left by a dead process is taken over) and compares the manifest
    ``path/.markovphase-scan.json`` (the scan whose report the folder holds)
    with ``key``; with ``force`` the old manifest is removed. :meth:`commit`
    writes the manifest of this scan: call it when the scan has finished, before
    writing its report. Leaving the context releases the lock.

    Parameters
    ----------
    path : str or path
        The folder.
    key : str
        Content key of the scan (data + every parameter that changes a result).
    info : dict, optional
        What the manifest records besides the key (``data``: the data's key,
        ``params``: canonical parameters, ``dataset``: a name); used to say
        what differs when the folder holds another scan.
    force : bool, default=False
        Replace a folder that holds another scan.
    name : str, default="out_dir"
        The parameter named in error messages (``"--out"`` on the command line).
    force_hint : str, default="force=True"
        How the message tells the user to replace the folder (``"--force"``).
    """

    def __init__(self, path, key: str, info: dict | None = None, force: bool = False,
                 name: str = "out_dir", force_hint: str = "force=True"):
        self.path = Path(path)
        self.key = key
        self.info = dict(info or {})
        self.force = force
        self.name = name
        self.force_hint = force_hint
        self._locked = False

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def _acquire(self) -> None:
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        for attempt in range(3):
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                held = _read_json(self.lock_path) or {}
                pid, host = held.get("pid"), held.get("host")
                same_host = host in (None, me["host"])
                if attempt < 2 and isinstance(pid, int) and same_host and not _pid_alive(pid):
                    self.lock_path.unlink(missing_ok=True)  # stale: its process is gone
                    continue
                raise ValueError(
                    f"{self.name}={os.fspath(self.path)!r} is in use by another markovphase "
                    f"process (pid {pid} on {host}); wait for it to finish, or delete "
                    f"{os.fspath(self.lock_path)!r} if no such process runs") from None
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            self._locked = True
            return

    def _release(self) -> None:
        if self._locked:
            self.lock_path.unlink(missing_ok=True)
            self._locked = False

    def _differences(self, held: dict) -> str:
        parts = []
        if held.get("data") != self.info.get("data"):
            parts.append("the data")
        old, new = held.get("params") or {}, self.info.get("params") or {}
        parts += [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        return ", ".join(parts) or "its content key"

    def check_manifest(self) -> None:
        """Raise ``ValueError`` when the folder holds a different scan (unless ``force``)."""
        held = _read_json(self.manifest_path)
        if self.force or not isinstance(held, dict) or held.get("key") in (None, self.key):
            return
        what = f" of dataset {held['dataset']!r}" if held.get("dataset") else ""
        raise ValueError(
            f"{self.name}={os.fspath(self.path)!r} holds the report of another scan{what} "
            f"(it differs in {self._differences(held)}); use {self.force_hint} to replace it, "
            "or choose another folder")

    def commit(self) -> None:
        """Record that the folder now holds this scan's report (write the manifest)."""
        write_text_atomic(self.manifest_path,
                          json.dumps({"key": self.key, **self.info}, indent=2, default=repr))

    def __enter__(self) -> OutputDir:
        check_writable_dir(self.path, self.name)
        self._acquire()
        try:
            self.check_manifest()
            if self.force:
                self.manifest_path.unlink(missing_ok=True)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._release()
