"""The capability table of the README: every Python name in it resolves, every row without one says why, and
every public item of the library crates (as `api/` lists them) has a row."""

import re
from pathlib import Path

import pytest

import aeroguard

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ["aeroguard-core", "aeroguard-consensus", "aeroguard-detect", "aeroguard-prognostics"]
PROGRAMS = ["aeroguard_sentinel", "aeroguard_node"]


def rows():
    text = (ROOT / "aeroguard-py" / "README.md").read_text()
    table = text.split("<!-- capabilities -->")[1].split("<!-- /capabilities -->")[0]
    out = []
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 3, line
        out.append(cells)
    return out


def spans(cell):
    return re.findall(r"`([^`]+)`", cell)


def rust_names(cell):
    """The Rust paths a cell names, brace groups expanded."""
    names = []
    for s in spans(cell):
        m = re.fullmatch(r"([a-z_:]+)::\{([^}]*)\}", s)
        if m:
            names += [f"{m.group(1)}::{n.strip()}" for n in m.group(2).split(",")]
        else:
            names.append(s)
    return names


def resolve(name):
    """The object a dotted Python name stands for (call syntax after it ignored)."""
    parts = name.split("(")[0].split(".")
    assert parts[0] == "aeroguard", name
    obj = aeroguard
    for p in parts[1:]:
        obj = getattr(obj, p)
    return obj


def test_every_python_name_resolves_and_every_other_row_says_why():
    table = rows()
    assert len(table) >= 30
    for rust, python, why in table:
        assert rust_names(rust), rust
        names = spans(python)
        if names:
            for n in names:
                resolve(n)
        else:
            assert len(why) >= 20, f"{rust}: no Python name and no reason"


def test_every_public_python_name_is_in_the_table():
    named = {n.split("(")[0] for _, python, _ in rows() for n in spans(python)}
    top = {n.split(".")[1] for n in named}
    missing = [n for n in aeroguard.__all__ if n not in top and not n.startswith("__") and not n.endswith("Error")]
    assert not missing, missing


def public_items(crate):
    """The crate's root items and its modules, from its public API listing."""
    module = crate.replace("-", "_")
    text = (ROOT / "api" / f"{crate}.txt").read_text()
    items = set(re.findall(rf"^(?:struct|enum|trait|type) {module}::(\w+)$", text, re.M))
    items |= set(re.findall(rf"^{module}::fn (\w+)", text, re.M))
    modules = set(re.findall(rf"\b{module}::([a-z_]+)::", text)) - {"fn", "async"}
    return module, items, modules


@pytest.mark.parametrize("crate", LIBRARIES)
def test_every_public_rust_item_has_a_row(crate):
    module, items, modules = public_items(crate)
    named = {n for rust, _, _ in rows() for n in rust_names(rust)}
    missing = [i for i in sorted(items) if f"{module}::{i}" not in named]
    missing += [f"{m}::" for m in sorted(modules) if not any(n.startswith(f"{module}::{m}") for n in named)]
    assert not missing, f"{module}: {missing}"


def test_the_programs_have_a_row():
    named = {n for rust, _, _ in rows() for n in rust_names(rust)}
    assert all(p in named for p in PROGRAMS)


def test_a_name_that_does_not_exist_fails_to_resolve():
    with pytest.raises(AttributeError):
        resolve("aeroguard.Client.no_such_call")
