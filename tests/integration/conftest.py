"""Fixtures shared by the integration tests."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.settings import PROJECT_DIR


@pytest.fixture
def cli(settings, runtime):
    """Runs ``autooffice …`` in a child process against the test run's databases."""
    env = {
        **os.environ,
        "AUTOOFFICE_DATABASE_URL": settings.db.url or "",
        "AUTOOFFICE_DB_PREFIX": settings.db.prefix,
        "AUTOOFFICE_SECRET_KEY": settings.secret_key,
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=PROJECT_DIR,
            timeout=120,
        )

    return run
