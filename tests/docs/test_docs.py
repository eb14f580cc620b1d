"""The documentation stays true: the README is short and opens with the two commands CI runs,
every relative link leads somewhere, and the generated reference pages are what the code
produces now (``python docs/generate.py`` rewrites them)."""

from __future__ import annotations

import argparse
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote

import pytest

from tests.support.paths import ROOT

README = ROOT / "README.md"
MAX_README_BYTES = 16 * 1024
CI_MARKER = "# README's second command, verbatim:"

FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.S | re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)


def _markdown_files() -> list[Path]:
    return [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _prose(text: str) -> str:
    """The text without fenced blocks and code spans, where links and headings are real."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of ``path`` (lowercase, punctuation dropped,
    spaces to hyphens, ``-1``, ``-2`` … for repeats)."""
    seen: dict[str, int] = {}
    out = set()
    for m in HEADING.finditer(FENCE.sub("", path.read_text(encoding="utf-8"))):
        slug = re.sub(r"[^\w\- ]", "", m.group(2).strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_is_at_most_16_kb() -> None:
    size = len(README.read_bytes())
    assert size <= MAX_README_BYTES, f"README.md is {size} bytes; move text to docs/"


def test_readme_starts_with_the_two_commands() -> None:
    """The README's first two code blocks, before any section, are the commands: the second is
    the line ``.ci/run`` runs verbatim; the first installs the same torch and opens a bundled
    example."""
    text = README.read_text(encoding="utf-8")
    intro = text.split("\n## ", 1)[0]
    blocks = [b.strip("\n") for b in FENCE.findall(intro)]
    assert len(blocks) >= 2, "the README must open with the two commands"
    start, suite = blocks[:2]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert suite == ci[ci.index(CI_MARKER) + 1], ".ci/run runs README's second command verbatim"
    torch_pin = re.search(r"pip install (?:-q )?(torch==\S+)", suite)
    assert torch_pin and f"pip install {torch_pin.group(1)} " in start
    assert start.startswith("python3 -m venv .venv && . .venv/bin/activate && ")
    example = re.fullmatch(r".* && torchwire (resources/examples/\S+\.json)", start)
    assert example and (ROOT / example.group(1)).is_file()


def test_relative_links_lead_to_existing_files_and_headings() -> None:
    broken = []
    for page in _markdown_files():
        for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            path, _, anchor = unquote(target).partition("#")
            dest = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(ROOT)}: {target}"
            if not dest.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{where} (no such heading)")
    assert not broken, "\n".join(broken)


def test_generated_pages_are_current(generate: ModuleType) -> None:
    stale = [
        rel
        for rel, text in generate.pages().items()
        if not (ROOT / rel).is_file() or (ROOT / rel).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"regenerate with `python docs/generate.py`: {', '.join(stale)}"


def _command_words(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    """Every command of the parser, nested ones included, found independently of the page's
    own walk."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((name,))
                found += [(name, *rest) for rest in _command_words(sub)]
    return found


def test_cli_reference_has_every_command(generate: ModuleType) -> None:
    from engine.cli import build_parser

    page = (ROOT / generate.CLI_PAGE).read_text(encoding="utf-8")
    commands = _command_words(build_parser())
    assert ("train",) in commands and ("blocks", "list") in commands
    missing = [w for w in commands if f"# torchwire {' '.join(w)}\n" not in page]
    assert not missing, f"not in {generate.CLI_PAGE}: {missing}"


def test_python_api_page_names_what_engine_exports() -> None:
    import engine

    page = (ROOT / "docs" / "reference" / "python-api.md").read_text(encoding="utf-8")
    missing = [name for name in engine.__all__ if f"`{name}`" not in page]
    assert not missing, f"docs/reference/python-api.md does not mention {missing}"


def test_readme_says_how_to_get_the_cpu_build_and_what_the_app_needs() -> None:
    text = README.read_text(encoding="utf-8")
    assert "never pulls a multi-GB CUDA build" not in text  # PyPI's Linux torch is CUDA's
    assert "--index-url https://download.pytorch.org/whl/cpu" in text
    assert "display" in text and "CJK font" in text
