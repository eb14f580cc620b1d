"""The bundled examples trained for 2 epochs, each once per test session (seconds each).

Why one cache: the export, serve and designer tests all need a trained Iris (and a few
other examples); training each once for the session instead of once per test folder
keeps the suite fast on two cores.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.paths import EXAMPLES


class TrainedExamples:
    """``runs.run("iris")``: the run folder of the example trained for 2 epochs, trained the
    first time a test asks for it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._runs: dict[str, Path] = {}

    def project(self, name: str) -> Path:
        return EXAMPLES / f"{name}.json"

    def run(self, name: str) -> Path:
        if name not in self._runs:
            from engine.train import train

            out = self.root / f"run_{name}"
            res = train(str(self.project(name)), out_dir=str(out), epochs=2)
            assert res.best_checkpoint
            self._runs[name] = Path(res.run_dir)
        return self._runs[name]
