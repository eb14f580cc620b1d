import faulthandler
import os
import signal

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Every test derives node shapes itself: a disk cache carried from an earlier run could hide
# a change (tests/engine/test_shape_cache.py turns it on, in a folder of its own).
os.environ.setdefault("TORCHWIRE_NO_SHAPE_CACHE", "1")
# The app's settings (QSettings: recent files, window layout, node folders) go to a folder of
# this test session, never the user's own ~/.config (a test run once filled Open Recent with
# pytest's temporary files and saved a dock layout a real start then restored).
import tempfile

os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="torchwire-test-config-")

# `kill -USR1 <pid>` prints every thread's stack: how a hung test run is diagnosed.
if hasattr(signal, "SIGUSR1"):
    faulthandler.register(signal.SIGUSR1, all_threads=True)

import gc

import pytest

from tests.support.trained import TrainedExamples

_tests_run = [0]


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread():
    """Once a designer test has moved garbage collection to the GUI thread's timer
    (``designer.bridge.gui_thread_gc``), tests without an event loop would never collect:
    do it here, on the main thread, every few tests."""
    yield
    _tests_run[0] += 1
    if not gc.isenabled() and _tests_run[0] % 20 == 0:
        gc.collect()


@pytest.fixture(scope="session")
def trained_examples(tmp_path_factory: pytest.TempPathFactory) -> TrainedExamples:
    """The bundled examples, each trained once for the whole session (tests.support.trained)."""
    return TrainedExamples(tmp_path_factory.mktemp("trained"))
