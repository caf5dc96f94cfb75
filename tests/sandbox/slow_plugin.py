"""Test-only plugin that takes a second to import, so a worker start can be interrupted."""

import time

time.sleep(1.0)
