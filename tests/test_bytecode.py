"""The suite's processes keep their compiled bytecode in var/pycache/
(tests/bytecode.py), whatever the environment they were started from said."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, worker_env

CACHE = ROOT / "var" / "pycache"


def test_a_process_the_tests_start_keeps_its_bytecode_in_var() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.dont_write_bytecode, sys.pycache_prefix)"],
        cwd=ROOT,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == ["False", str(CACHE)]


def test_the_platform_this_process_imported_is_read_from_the_cache() -> None:
    settings_module = sys.modules["config.settings"]
    assert settings_module.__file__ == str(ROOT / "config" / "settings.py")
    assert settings_module.__spec__ is not None
    compiled = Path(str(settings_module.__spec__.cached))
    assert compiled.is_relative_to(CACHE)
    assert compiled.is_file()
