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


def _architecture() -> str:
    return (ROOT / "docs" / "architecture.md").read_text()


def test_architecture_layers_are_the_checked_ones():
    """The layer list a reader sees is the one import-linter enforces."""
    documented = re.search(r"<!-- layers:[^>]*-->\n```\n(.*?)```", _architecture(), re.S)
    config = (ROOT / ".importlinter").read_text()
    checked = re.search(r"^layers =\n((?:    .+\n)+)", config, re.M)
    assert documented and checked
    assert documented.group(1).split("\n") == [
        line.strip() for line in checked.group(1).split("\n")]


def test_architecture_names_every_module():
    """A module nobody wrote down is a module nobody can find: every module and package
    of app, boards and printers appears on the page (migrations as a folder)."""
    text = _architecture()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    missing = []
    for package in ("app", "boards", "printers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.parts[:2] == ("app", "migrations") or path.name == "__init__.py":
                continue
            folder = f"`{relative.parent}/`"
            if f"`{relative}`" in text or any(
                    row.split(" | ")[0].find(folder) >= 0 and f"`{relative.stem}`" in row
                    for row in rows):
                continue
            missing.append(str(relative))
    assert missing == []


def test_readme_links_the_architecture():
    assert "docs/architecture.md" in (ROOT / "README.md").read_text()
