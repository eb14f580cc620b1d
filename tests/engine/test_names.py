"""The one sanitizer: any text → a safe, unique ASCII identifier; literals that round-trip."""

from __future__ import annotations

import ast
import keyword
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import load_project
from engine.names import class_name, docstring, identifier, literal, reserved
from tests.support.paths import EXAMPLES

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Every character, lone surrogates and line separators included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=24)
TRICKY = [
    "", " ", "_", "__", "__init__", "__x", "ﬁ", "fi", "²", "½", "\ud800", "\u2028", "a\nb",
    '"""', "'''", "\\", "class", "match", "case", "type", "_", "print", "input", "Maxout",
    "torch", "nn", "F", "self", "super", "forward", "training", "code", "torchwire",
    "load_weights", "predict", "main", "名前", "é", "Ⅻ", "١٢", "x" * 300,
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(ANY_TEXT, st.sampled_from(TRICKY)), max_size=12))
def test_any_text_becomes_a_safe_unique_identifier(texts: list[str]) -> None:
    taken: set[str] = set()
    out = [identifier(t, taken) for t in texts]
    assert len(set(out)) == len(out) == len(taken)
    for s in out:
        assert IDENT.match(s), s
        assert s.isascii() and s.isidentifier()
        assert s not in reserved()
        assert not keyword.iskeyword(s) and not keyword.issoftkeyword(s)
        assert not s.startswith("__")  # no name mangling in the class body


def test_nfkc_equal_names_stay_apart() -> None:
    """Python reads ``ﬁ`` as ``fi``: the two must still be two attributes."""
    taken: set[str] = set()
    a, b = identifier("ﬁ", taken), identifier("fi", taken)
    assert a != b
    ns: dict = {}
    exec(f"{a} = 1\n{b} = 2\n", ns)
    assert (ns[a], ns[b]) == (1, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in put", "in_put"),
        ("conv1", "conv1"),
        ("class", "class_"),
        ("2nd", "n_2nd"),
        ("input", "input_"),
        ("torch", "torch_"),
        ("Maxout", "Maxout_"),
        ("é", "e"),
        ("²", "n_2"),
        ("\ud800", "node"),
    ],
)
def test_readable_names_stay_readable(text: str, expected: str) -> None:
    assert identifier(text, set()) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("resnet_small", "ResnetSmall"),
        ("with maxout", "WithMaxout"),
        ("Maxout", "MaxoutModel"),
        ("F", "FModel"),
        ("none", "NoneModel"),
        ("ValueError", "ValueErrorModel"),
        ('"""', "Model"),
        ("", "Model"),
    ],
)
def test_class_names_come_from_the_same_sanitizer(text: str, expected: str) -> None:
    assert class_name(text) == expected


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_class_name_is_a_safe_identifier(text: str) -> None:
    s = class_name(text)
    assert IDENT.match(s) and s not in reserved()


@settings(max_examples=300, deadline=None)
@given(st.one_of(ANY_TEXT, st.sampled_from(TRICKY)))
def test_docstring_is_exactly_its_text(text: str) -> None:
    src = docstring(text) + "\n"
    src.encode("utf-8")  # no lone surrogate reaches the file
    assert len(src.splitlines()) == src.count("\n")  # no line break Python would not see
    tree = ast.parse(src)
    assert len(tree.body) == 1
    assert ast.get_docstring(tree, clean=False) == text


SCALARS = st.one_of(ANY_TEXT, st.none(), st.booleans(), st.integers(), st.floats())


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        SCALARS,
        lambda c: st.lists(c, max_size=3) | st.dictionaries(ANY_TEXT, c, max_size=3),
        max_leaves=8,
    )
)
def test_literal_round_trips(value: object) -> None:
    src = literal(value)
    src.encode("utf-8")
    assert len(src.splitlines()) <= 1
    tree = ast.parse(src, mode="eval")
    back = eval(compile(tree, "<literal>", "eval"), {"__builtins__": {"float": float}})
    assert repr(back) == repr(value)  # repr: nan == nan


@pytest.mark.slow
def test_reserved_covers_every_name_an_exported_script_defines(tmp_path) -> None:
    """A node or project named like a helper of the script would shadow it."""
    from engine.export.python import script_source
    from engine.export.source import resolve
    from engine.export.training_code import training_source

    g = load_project(EXAMPLES / "iris.json")
    src = resolve(g, None, None)
    path = tmp_path / "iris.py"
    text = script_source(src, path, training_source(src, path))
    tree = ast.parse(text)
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined |= {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            defined.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
    defined.discard(src.info.class_name)  # the class name is the sanitizer's own output
    assert defined - reserved() == set()
