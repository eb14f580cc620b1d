"""torchvision is optional: its test module is collected only where it is installed (so
CI never reports a skipped test), and nothing else depends on it."""

import importlib.util

collect_ignore = (
    [] if importlib.util.find_spec("torchvision") is not None else ["test_torchvision_import.py"]
)
