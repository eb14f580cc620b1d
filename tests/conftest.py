import faulthandler
import os
import signal

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# `kill -USR1 <pid>` prints every thread's stack: how a hung test run is diagnosed.
if hasattr(signal, "SIGUSR1"):
    faulthandler.register(signal.SIGUSR1, all_threads=True)
