"""The wheel, installed on its own: a fresh venv outside the source tree, as `pip install` makes.

Run by `make test-wheel` (which builds the wheel first and passes ``--wheel-dir``); a plain
`pytest` run skips these tests, as it has no wheel to test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DISTRIBUTION = "airflow_provider_loopring"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--wheel-dir", default=None, help="test the wheel in this folder")


@pytest.fixture(scope="session")
def wheel(request: pytest.FixtureRequest) -> Path:
    """The one wheel in ``--wheel-dir``."""
    folder = request.config.getoption("wheel_dir", default=None)
    if folder is None:
        pytest.skip("needs a built wheel: `make test-wheel`")
    (built,) = Path(folder).resolve().glob(f"{DISTRIBUTION}-*.whl")
    return built


@pytest.fixture(scope="session")
def wheel_files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


@dataclass
class Installed:
    """A venv holding the wheel and Airflow, and nothing from this checkout."""

    root: Path
    env: dict[str, str]

    @property
    def python(self) -> Path:
        return self.root / "venv" / "bin" / "python"

    def run(self, *args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
        """Run a command of the venv in a folder of its own, where no ./example_dags exists."""
        return subprocess.run(
            args,
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )


@pytest.fixture(scope="session")
def installed(wheel: Path) -> Iterator[Installed]:
    """The wheel installed with the Airflow (and its dependencies) this suite runs on.

    The running venv's versions are the constraints: the same resolution, from uv's cache.
    """
    root = Path(tempfile.mkdtemp(prefix="loopring-wheel-"))
    assert not root.is_relative_to(REPO)
    uv = str(Path(sys.executable).with_name("uv"))
    frozen = subprocess.run(
        [uv, "pip", "freeze", "--python", sys.executable],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ours = DISTRIBUTION.replace("_", "-")
    pins = [line for line in frozen.splitlines() if line and not line.startswith(("-e", ours))]
    (root / "constraints.txt").write_text("\n".join(pins) + "\n")
    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(root / "venv")], check=True
    )
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--compile-bytecode",
            "--python",
            str(root / "venv" / "bin" / "python"),
            "--constraint",
            str(root / "constraints.txt"),
            str(wheel),
            "apache-airflow",
            "pytest",
        ],
        check=True,
        timeout=600,
    )
    # Nothing of this checkout or its Airflow leaks in: no PYTHONPATH, no AIRFLOW_* settings.
    foreign = ("PYTHONPATH", "AIRFLOW", "VIRTUAL_ENV")
    env = {key: value for key, value in os.environ.items() if not key.startswith(foreign)}
    env.update(
        AIRFLOW_HOME=str(root / "airflow"),
        PATH=f"{root / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    yield Installed(root=root, env=env)
    shutil.rmtree(root, ignore_errors=True)
