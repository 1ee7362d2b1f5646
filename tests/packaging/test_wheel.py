"""Install anywhere: the built wheel, in a fresh venv, initialises and runs the demo in an empty folder.

The migrations and the default chart, mappings and tax profiles are package data; a file the package reads from
the source tree instead would pass every other test (they run from the checkout) and fail only for an operator.
So this builds the wheel from a copy of what the Dockerfile copies, installs it without its dependencies into a
new venv whose dependencies come from this venv's site-packages (a .pth file: no network), and runs the
installed `ledger-service` from a temporary folder. No PostgreSQL is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from ledger_service.settings import REPO_ROOT


def _run(args: list, cwd: Path, env: dict, timeout: int = 120) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def test_the_wheel_installs_and_runs_outside_the_source_tree(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "PYTHON", "VIRTUAL_ENV"))}

    # 1. The wheel, from a copy of the package (a build in the checkout could pick up stale build/ files).
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, src / name)
    shutil.copytree(REPO_ROOT / "ledger_service", src / "ledger_service",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", dist, src], tmp_path, env)
    wheel = next(dist.glob("ledger_service-*.whl"))

    # 2. A fresh venv whose dependencies are this venv's (a plain path: its .pth files, among them this
    # checkout's editable install, are not processed), and the wheel installed into it offline.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, env)
    python = venv / "bin" / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        tmp_path, env).stdout.strip())
    (purelib / "ledger-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
         tmp_path, env)

    # 3. An operator's empty folder.
    work = tmp_path / "operator"
    work.mkdir()
    env["LEDGER_DATABASE_URL"] = f"sqlite:///{work / 'ledger.db'}"
    where = _run([python, "-c", "import ledger_service.settings as s; print(s.__file__); print(s.DEFAULT_ACCOUNTS_DIR)"],
                 work, env).stdout.split()
    assert all(not Path(p).resolve().is_relative_to(REPO_ROOT) for p in where), where
    assert all(Path(p).resolve().is_relative_to(venv) for p in where), where

    cli = venv / "bin" / "ledger-service"
    init = _run([cli, "init"], work, env)
    assert "subsidiaries created: UK, US" in init.stdout
    demo = _run([cli, "demo", "--orders", "30"], work, env, timeout=300)
    assert "reconciled" in demo.stdout
    assert str(REPO_ROOT) not in demo.stdout + demo.stderr  # nothing read from, or written to, the checkout
    assert (work / "demo-data").is_dir() and (work / "ledger.db").is_file()
