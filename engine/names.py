"""The one way user text becomes a name in generated Python source.

Project, node and block names are free text: quotes, newlines, ``\\u2028``, lone surrogates,
ligatures, keywords. Generated source (``engine.build.compile``, the exporters) takes user text
only as a literal made by ``repr()`` (or ``docstring`` below, for a module docstring) or as
an identifier made here, so a name can never close a string or run as code.

``identifier`` maps any text to ``[A-Za-z_][A-Za-z0-9_]*``. Python folds identifiers with
NFKC when it parses them (``ﬁ`` and ``fi`` are one name to it), so we normalise with NFKC
first, transliterate what is still not ASCII, and check uniqueness on the final ASCII text:
two nodes can never end up as one attribute. The result also avoids every name the
generated module or an exported script needs for itself (``RESERVED``).
"""

from __future__ import annotations

import builtins
import functools
import keyword
import math
import re
import unicodedata
from collections.abc import Iterable

from engine.modules import CUSTOM_MODULES

# Names generated source uses at module level or in ``forward``: the imports, the class
# body's own names, what ``compile_model`` sets on the module.
GENERATED_NAMES = frozenset(
    {"torch", "nn", "F", "np", "pd", "self", "super", "code", "torchwire", "last_state"}
)
# Module-level names an exported script defines (engine.export.python, training_code and
# the engine functions it copies); tests/engine/test_names.py checks the list is complete.
SCRIPT_NAMES = frozenset(
    {
        # engine.export.python
        "WEIGHTS", "TASK", "CLASS_NAMES", "INPUTS", "OUTPUTS", "load_weights", "build_model",
        "random_inputs", "predict", "main", "argparse", "os", "sys", "json", "math", "random",
        "pathlib", "time", "csv", "dataclasses", "typing", "annotations", "dataclass", "field",
        "Any", "numpy", "pandas", "sklearn", "safetensors", "PIL",
        # engine.export.training_code (the runtime itself is a package: only ``rt`` is a name)
        "rt", "torchwire_runtime", "DATASET", "STEPS", "TRAINING", "SEED", "CPU_THREADS",
        "LOSS", "OPTIMIZER", "OUTPUT_SHAPE", "prepare_data", "EpochLog", "train",
    }
)  # fmt: skip

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@functools.cache
def reserved() -> frozenset[str]:
    """Every name a node, block or model class must not take (computed once)."""
    from torch import nn

    names = set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins))
    names |= set(dir(nn.Module)) | set(dir(nn.Module()))  # class and instance attributes
    names |= GENERATED_NAMES | SCRIPT_NAMES | set(CUSTOM_MODULES)
    return frozenset(names)


def ascii_text(text: str) -> str:
    """``text`` as ASCII letters, digits and ``_``: NFKC, accents dropped, other letters
    spelled as their code point (``u5c42``), everything else ``_``."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKC", text):
        if ch.isascii():
            out.append(ch if ch.isalnum() or ch == "_" else "_")
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if c.isascii() and c.isalnum())
        if base:
            out.append(base)
        elif ch.isalnum():
            out.append(f"u{ord(ch):x}")
        else:
            out.append("_")
    return "".join(out)


def is_identifier(name: str) -> bool:
    """ASCII identifier syntax (not a check against ``reserved``)."""
    return bool(_IDENT.match(name))


def identifier(
    text: str,
    taken: set[str] | None = None,
    *,
    fallback: str = "node",
    suffix: str = "_",
    avoid: Iterable[str] = (),
) -> str:
    """A unique, safe Python identifier for ``text``; it is added to ``taken``.

    Safe as a local of ``forward``, as an attribute of an ``nn.Module`` and as a
    module-level name: never a keyword, soft keyword, builtin, ``nn.Module`` attribute or a
    name the generated code uses (``reserved()`` and ``avoid``), never mangled by a class
    body (no leading ``__``), and different from every name in ``taken`` (case-sensitive).
    A reserved name gets ``suffix``; a taken one ``_2``, ``_3``, …
    """
    taken = set() if taken is None else taken
    blocked = reserved() | set(avoid)
    s = ascii_text(text.strip())
    if not s or not any(c.isalnum() for c in s):
        s = fallback
    if s[0].isdigit():
        s = f"n_{s}"
    if s.startswith("__"):  # self.__x in a class body would become self._Model__x
        s = f"n{s}"
    if s in blocked:
        s = f"{s}{suffix}"
    base, i = s, 2
    while s in taken or s in blocked:
        s = f"{base}_{i}"
        i += 1
    assert is_identifier(s), s
    taken.add(s)
    return s


def class_name(text: str, taken: set[str] | None = None) -> str:
    """The model class name for a graph name: CamelCase from the same sanitizer, so a graph
    named ``Maxout``, ``torch`` or ``nn`` cannot shadow what the module uses."""
    parts = re.split(r"_+", ascii_text(text))
    s = "".join(p[:1].upper() + p[1:] for p in parts if p) or "Model"
    if s[0].isdigit():
        s = f"Model{s}"
    return identifier(s, taken, fallback="Model", suffix="Model")


def literal(value: object) -> str:
    """``repr(value)`` for strings, numbers, ``None`` and lists/tuples/dicts of them, with
    the string quotes ``ruff format`` writes (double unless the text holds a ``"``).

    Only the quote character changes, and only where ``repr`` needed no escape for it, so
    the literal is still exactly ``repr``'s: quotes, newlines, line separators and lone
    surrogates are escaped.
    """
    if isinstance(value, str):
        r = repr(value)
        if r.startswith("'") and '"' not in value:  # then value has no ' either
            return '"' + r[1:-1] + '"'
        return r
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({literal(repr(value))})"  # nan / inf are not literals
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    raise TypeError(f"no literal for {type(value).__name__}")


def docstring(text: str) -> str:
    """A triple-quoted literal whose value is exactly ``text``, for a module docstring.

    Newlines stay real line breaks (the docstring stays readable); backslashes and every
    double quote are escaped, so no text can close the literal; characters that are not
    printable (line separators, control characters, lone surrogates) become escapes, so
    the source has no line break Python would not see and encodes as UTF-8.
    """
    out: list[str] = []
    for ch in text:
        if ch == "\n":
            out.append(ch)
        elif ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch.isprintable():
            out.append(ch)
        else:
            o = ord(ch)
            out.append(
                f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"
            )
    return '"""' + "".join(out) + '"""'
