"""Where a result came from: package versions, the git commit and the exact command.

One place for the version lookups of the package (``markovphase.__version__``,
the plugin registry, the scan cache key, the report) and for the provenance
header that every benchmark result file starts with::

    from markovphase import provenance

    record = provenance.record()          # {"created", "command", "commit", "versions"}
    print(provenance.header(record))      # "# command: ...", "# commit: ...", ...
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["version", "package_versions", "git_commit", "command_line", "record", "header",
           "PACKAGES"]

#: distributions whose versions a result records
PACKAGES = ("markovphase", "numpy", "scipy", "scikit-learn", "pandas", "torch", "pluggy",
            "numba", "joblib", "matplotlib")


def version(distribution: str = "markovphase") -> str | None:
    """The installed version of ``distribution``, or ``None`` when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def package_versions(packages=PACKAGES) -> dict[str, str]:
    """``{"python": ..., package: version}`` for every installed package of ``packages``."""
    out = {"python": platform.python_version()}
    for pkg in packages:
        v = version(pkg)
        if v is not None:
            out[pkg] = v
    return out


def git_commit(path=None) -> str | None:
    """``HEAD`` of the git checkout holding ``path`` (default: this package), with ``-dirty``
    appended when tracked files differ from it; ``None`` outside a checkout or without git."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    where = where if where.is_dir() else where.parent

    def git(*args):
        return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def command_line(argv=None, program: str | None = None) -> str:
    """The command as typed: ``program`` (default ``python SCRIPT`` relative to the
    working directory, or ``markovphase`` for the console script) and the quoted arguments."""
    argv = list(sys.argv if argv is None else argv)
    if program is None:
        script = argv[0] if argv else ""
        name = os.path.basename(script)
        if name in ("markovphase", "__main__.py"):
            program = "markovphase"
        elif script.endswith(".py"):
            program = "python " + shlex.quote(os.path.relpath(script))
        else:
            program = shlex.quote(script)
    return " ".join([program, *(shlex.quote(a) for a in argv[1:])])


def record(command: str | None = None, packages=PACKAGES) -> dict:
    """Provenance of a result: ``created`` (UTC), ``command``, ``commit``, ``versions``."""
    return {
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": command_line() if command is None else command,
        "commit": git_commit(),
        "versions": package_versions(packages),
    }


def header(rec: dict | None = None, prefix: str = "# ") -> str:
    """The provenance record as comment lines (``prefix`` before each), ending in a newline."""
    rec = record() if rec is None else rec
    versions = ", ".join(f"{k} {v}" for k, v in rec["versions"].items())
    lines = [f"command: {rec['command']}", f"commit: {rec['commit'] or 'unknown (no git)'}",
             f"versions: {versions}", f"created: {rec['created']}"]
    return "".join(f"{prefix}{line}\n" for line in lines)
