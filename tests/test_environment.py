"""The suite runs on exactly what requirements-dev.lock pins: what passes here passes on a new machine."""

from __future__ import annotations

import re
import sys
from importlib.metadata import distributions
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
#: What `python3 -m venv` puts in every venv before anything is installed.
VENV_SEEDS = {"pip", "setuptools"}
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\]+?))?\s*\\?$")


def pinned(lock: Path) -> dict[str, str]:
    """Name -> version of every package the lock installs on this platform and Python."""
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match and (match["marker"] is None or Marker(match["marker"]).evaluate()):
            pins[canonicalize_name(match["name"])] = match["version"]
    return pins


def test_the_lock_pins_every_package_once_with_hashes() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text()
        pins = pinned(ROOT / lock)
        assert "flask" in pins and "cryptography" in pins and "click" in pins
        assert text.count("==") >= len(pins) and text.count("--hash=sha256:") >= len(pins)
    assert set(pinned(ROOT / "requirements.lock")) <= set(pinned(ROOT / "requirements-dev.lock"))


@pytest.mark.skipif(
    Path(sys.prefix).resolve() != (ROOT / ".venv-test").resolve(), reason="runs in test.sh's venv, .venv-test"
)
def test_the_test_venv_holds_exactly_the_dev_lock() -> None:
    installed = {
        name: d.version for d in distributions() if (name := canonicalize_name(d.metadata["Name"])) not in VENV_SEEDS
    }
    assert installed == pinned(ROOT / "requirements-dev.lock")
