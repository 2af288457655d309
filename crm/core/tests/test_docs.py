"""The docs name only what exists: files, dotted names and registries of the code they describe.

When code is renamed or moved, these tests point at the sentence in docs/ or the README that still
names the old thing.  The walk-through in docs/architecture.md builds an example app that does not
exist (``EXAMPLE_APP``); its names are left out.
"""

import importlib
import re
from pathlib import Path

import rest_framework.views  # noqa: F401  (loads crm.core.api through DRF's settings, as the app does)

from crm.core import registry

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLE_APP = "service"  # docs/architecture.md, "How a new app plugs in"

# A file of the project, e.g. `crm/core/registry.py` (not a part of a longer path such as /opt/crm/…).
FILE_PATH = re.compile(r"(?<![\w/.-])crm/[\w/]+\.(?:py|html)\b")
# A dotted name of the project, e.g. `crm.core.permissions.require`.
DOTTED_NAME = re.compile(r"(?<![\w/.-])crm(?:\.[A-Za-z_]\w*)+")
# Names of the access checks that per-model permission codes replaced.
GONE = ["Action.", "action_required", 'can("manage_settings")', "Role.actions", "role.actions"]


def _mentions(pattern):
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
            for match in pattern.finditer(line):
                yield f"{doc.relative_to(ROOT)}:{number}", match.group(0).rstrip(".")


def _is_example(name):
    return name.split("/")[1] == EXAMPLE_APP if "/" in name else name.split(".")[1] == EXAMPLE_APP


def _resolves(name) -> bool:
    """Import the longest module prefix of ``name``, then look the rest up as attributes."""
    parts = name.split(".")
    obj, rest = None, []
    for i in range(1, len(parts) + 1):
        module = ".".join(parts[:i])
        try:
            obj = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            rest = parts[i - 1:]
            break
    for attribute in rest:
        if not hasattr(obj, attribute):
            return False
        obj = getattr(obj, attribute)
    return True


def _is_project_package(name):
    second = name.split(".")[1]
    return (ROOT / "crm" / second).is_dir() or (ROOT / "crm" / f"{second}.py").is_file()


def test_every_file_the_docs_name_exists():
    missing = [f"{where}: {path}" for where, path in _mentions(FILE_PATH)
               if not _is_example(path) and not (ROOT / path).exists()]
    assert not missing, "the docs name files that do not exist:\n" + "\n".join(missing)


def test_every_dotted_name_the_docs_use_exists():
    missing = [f"{where}: {name}" for where, name in _mentions(DOTTED_NAME)
               if _is_project_package(name) and not _is_example(name) and not _resolves(name)]
    assert not missing, "the docs name things the code does not have:\n" + "\n".join(missing)


def test_the_architecture_doc_describes_every_registry():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    names = [name for name, value in vars(registry).items()
             if isinstance(value, registry.Registry | registry.SlotRegistry)]
    assert len(names) >= 8
    missing = [name for name in names if f"`{name}`" not in doc]
    assert not missing, f"docs/architecture.md, 'Registries', does not describe: {missing}"


def test_the_docs_do_not_name_the_old_role_actions():
    found = [f"{doc.relative_to(ROOT)}: {word}" for doc in DOCS for word in GONE
             if word in doc.read_text(encoding="utf-8")]
    assert not found, "the docs still name checks that permission codes replaced:\n" + "\n".join(found)
