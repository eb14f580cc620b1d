"""The designer's start on a fresh machine: a fresh clone, every cache empty, a new user.

    python bench/cold_start.py [--example resources/examples/iris.json] [--repeats 1]
                               [--no-bytecode] [--keep]

Each launch runs ``python -m designer.launch EXAMPLE`` from a fresh ``git clone`` of this
repository (no ``__pycache__``), as a user whose HOME, XDG config, cache and data folders
are new and empty, with fontconfig's cache in an empty folder (the system's font settings, but
every font scanned again), with ``TORCHWIRE_STARTUP_PROBE=exit`` (designer/features.py). ``--no-bytecode``
also ignores every compiled ``.pyc`` of the installed packages (torch included), which is
colder than any real install (pip compiles them). The OS page cache is not dropped: that
needs root and would slow every other process on the machine.

Prints, from spawning the process:
  window   the window is up with its whole menu bar (menus saying what still loads)
  editor   the canvas, palette and properties are built (torch and the engine in)
  check    the first check result is drawn on the canvas
  run      the Run menu and the Training dock are there

Target: the window usable (``window``) in under 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_WINDOW_S = 5.0
MARKS = {
    "TORCHWIRE_WINDOW_SHOWN": "window",
    "TORCHWIRE_EDITOR_LOADED": "editor",
    "TORCHWIRE_FIRST_CHECK": "check",
    "TORCHWIRE_RUN_READY": "run",
}
FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/conf.d</include>
  <dir>/usr/share/fonts</dir>
  <dir>/usr/local/share/fonts</dir>
  <dir prefix="xdg">fonts</dir>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""


def fresh_clone(where: Path) -> Path:
    """A clone of this repository's HEAD (committed files only, no caches)."""
    clone = where / "torchwire"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    return clone


def fresh_user(where: Path, no_bytecode: bool) -> dict[str, str]:
    """The environment of a new user on this machine: empty home, config, caches."""
    home = where / "home"
    dirs = {k: home / sub for k, sub in (
        ("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"),
        ("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state"),
    )}  # fmt: skip
    for d in dirs.values():
        d.mkdir(parents=True)
    fc_cache = dirs["XDG_CACHE_HOME"] / "fontconfig"
    fc_cache.mkdir()
    conf = home / "fonts.conf"
    conf.write_text(FONTS_CONF.format(cache=fc_cache), encoding="utf-8")
    keep = ("PATH", "LANG", "LC_ALL", "DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "TERM")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update({k: str(v) for k, v in dirs.items()})
    env.update(
        HOME=str(home),
        FONTCONFIG_FILE=str(conf),
        TMPDIR=str(where / "tmp"),
        TORCHWIRE_STARTUP_PROBE="exit",
    )
    (where / "tmp").mkdir()
    env.setdefault("QT_QPA_PLATFORM", "offscreen" if "DISPLAY" not in env else "xcb")
    if no_bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(where / "pycache")  # empty: every module compiles
    return env


def launch(example: str, no_bytecode: bool, keep: bool) -> dict[str, float]:
    """One cold launch; the seconds from spawning to each start-up mark."""
    where = Path(tempfile.mkdtemp(prefix="torchwire-cold-"))
    try:
        clone = fresh_clone(where)
        env = fresh_user(where, no_bytecode)
        t0 = time.time()
        proc = subprocess.run(
            [sys.executable, "-m", "designer.launch", example],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        out: dict[str, float] = {}
        for line in proc.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in MARKS:
                out.setdefault(MARKS[parts[0]], float(parts[1]) - t0)
        if "window" not in out:
            print("the window never showed; stderr:\n" + proc.stderr[-3000:], file=sys.stderr)
        return out
    finally:
        if keep:
            print(f"kept {where}")
        else:
            shutil.rmtree(where, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--example", default="resources/examples/iris.json")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--no-bytecode", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the clone and the user folder")
    args = ap.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    worst = 0.0
    for i in range(args.repeats):
        marks = launch(args.example, args.no_bytecode, args.keep)
        shown = "  ".join(f"{k} {marks[k]:6.1f} s" for k in MARKS.values() if k in marks)
        print(f"cold start {i + 1}: {shown}")
        worst = max(worst, marks.get("window", float("inf")))
    ok = worst < TARGET_WINDOW_S
    print(
        f"window usable: {worst:.1f} s (target < {TARGET_WINDOW_S:.0f} s) {'ok' if ok else 'SLOW'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
