"""`make run` signs links with a random key made once in instance/secret_key, readable
by its owner only and never committed; the commands it runs get it."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from open311.config import MIN_SECRET_KEY_LENGTH, PROJECT_DIR

PRINT_KEY = """
include Makefile
print-key:
\t@$(WITH_KEY) sh -c 'echo "$$OPEN311_SECRET_KEY"'
"""


def make(folder: Path, *args: str, **env: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        env={**{k: v for k, v in os.environ.items() if k != "OPEN311_SECRET_KEY"}, **env},
    )
    return result.stdout


def test_the_key_is_made_once_private_and_passed_to_commands(tmp_path: Path) -> None:
    shutil.copy(PROJECT_DIR / "Makefile", tmp_path / "Makefile")
    (tmp_path / "print.mk").write_text(PRINT_KEY)
    key_file = tmp_path / "instance" / "secret_key"

    make(tmp_path, "instance/secret_key")
    key = key_file.read_text().strip()
    assert len(key) >= MIN_SECRET_KEY_LENGTH
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    make(tmp_path, "instance/secret_key")
    assert key_file.read_text().strip() == key  # made once: links already sent keep working

    assert make(tmp_path, "-f", "print.mk", "print-key").strip() == key
    chosen = "x" * MIN_SECRET_KEY_LENGTH
    assert (
        make(tmp_path, "-f", "print.mk", "print-key", OPEN311_SECRET_KEY=chosen).strip() == chosen
    )

    make(tmp_path, "instance/secret_key")
    (tmp_path / "instance" / "open311.sqlite").write_text("")
    make(tmp_path, "clean", "VENV=.venv-none")
    assert key_file.read_text().strip() == key  # make clean keeps it
    assert not (tmp_path / "instance" / "open311.sqlite").exists()


def test_the_key_is_never_committed() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "--quiet", "instance/secret_key"], cwd=PROJECT_DIR, check=False
    )
    assert ignored.returncode == 0
