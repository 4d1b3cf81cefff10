"""The dependency rule of the layout (DESIGN.md): ``pipelines``, ``viewer`` -> ``body_models`` ->
``motion_recon``. The import graph is read from the source with ``ast``, imports inside functions
included."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("motion_recon", "body_models", "pipelines", "viewer")
# what each package may import of the others
ALLOWED = {"motion_recon": set(), "body_models": {"motion_recon"}}


def imported_packages(path: Path) -> set[str]:
    """The project packages a source file imports (relative imports stay in its own package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in PACKAGES)
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_lower_layer_imports_no_higher_one(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    offending = {str(f.relative_to(ROOT)): sorted(imported_packages(f) - ALLOWED[package] - {package}) for f in files}
    assert not {f: names for f, names in offending.items() if names}


def test_the_graph_reader_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import numpy\nfrom . import x\ndef f():\n    from body_models.shape import y\n    import viewer.gl\n")
    assert imported_packages(source) == {"body_models", "viewer"}
