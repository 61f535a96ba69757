"""What the three services share: where the contracts are, and the line format of the example's
transport (one message per line on stdin/stdout: base64 bytes and their headers), so that
``checkout | pricing`` works with plain pipes. A real system uses its broker instead (see
docs/integrations.md); nothing else changes."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import syscontract
from syscontract import Encoded
from syscontract.wire import Envelope

CONTRACTS = Path(__file__).parent / "contracts"


def setup(service: str) -> None:
    syscontract.configure(registry=CONTRACTS, service=service)


def send(message: Encoded) -> None:
    headers = {name: value.decode() for name, value in message.headers.items()}
    print(json.dumps({"value": base64.b64encode(message.value).decode(), "headers": headers}), flush=True)


def receive() -> Iterator[Envelope]:
    for line in sys.stdin:
        if line.strip():
            message = json.loads(line)
            headers = {name: value.encode() for name, value in message["headers"].items()}
            yield Envelope(base64.b64decode(message["value"]), headers)
