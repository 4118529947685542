"""Documentation that must not drift from the code."""
import re
from pathlib import Path

from app.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def test_readme_documents_every_setting_and_nothing_else():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, re.M))
    assert documented == set(SETTINGS)


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first = readme.index("make run")
    assert first < 400 and "make test" in readme[first:first + 200]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
