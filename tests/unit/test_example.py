"""The README's main job: the incident example runs and tells its story."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "incident" / "run.py"


def test_the_incident_example_shows_the_silent_default_and_the_loud_refusal() -> None:
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, check=False, timeout=60)
    assert 0 == result.returncode, result.stdout + result.stderr
    out = result.stdout
    assert "staging order.v2  VIP customer pays  100.00 EUR   <- BASIC price, no error, no alert" in out
    assert "MissingCriticalField: order.v3: critical field 'customerTier' was not sent (absent from the message)" in out
    assert "identical to what was sent: True" in out
