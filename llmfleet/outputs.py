"""Where a command writes its files: checked before any work, so a bad path fails first.

A path that cannot be written is a usage error (exit 2) reported before the plan runs and
before the report is printed, never an internal error after it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from llmfleet.stackfile import UsageError


def check_output_file(path: Path, flag: str, example: str = "plan.json") -> None:
    """Refuse a ``flag`` FILE that is a folder or whose folder cannot be created or written;
    ``example`` is the file name the message suggests."""
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder; give a file name such as {path}/{example}")
    if path.exists():
        _check_writable(path.parent, flag, path)
        return
    _check_creatable(path.parent, flag, path)


def check_output_dir(path: Path, flag: str) -> None:
    """Refuse a ``flag`` DIR that is an existing file or cannot be created or written."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path}: is an existing file; give a folder (new or existing)")
    if path.is_dir():
        _check_writable(path, flag, path)
        return
    _check_creatable(path, flag, path)


def _check_creatable(path: Path, flag: str, target: Path) -> None:
    """The nearest existing folder above ``path`` must be a writable folder."""
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{flag} {target}: {existing} is a file, not a folder")
    _check_writable(existing, flag, target)


def _check_writable(folder: Path, flag: str, target: Path) -> None:
    # Trying beats os.access: it also sees read-only mounts and works for root.
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise UsageError(f"{flag} {target}: cannot write in {folder}: {error.strerror}") from None
