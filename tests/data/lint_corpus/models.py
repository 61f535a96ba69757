"""A pydantic model contract declared in the scanned files: its defaults are reader defaults."""

from typing import Any

from pydantic import BaseModel, Field

import syscontract
from syscontract import requires


@syscontract.contract("invoice.v1")
class Invoice(BaseModel):
    id: str
    status: str = "open"
    lines: list[str] = Field(default_factory=list)
    total: float = Field(...)


@requires("invoice.v1", ["id"])
def on_invoice(invoice: Any) -> str:
    # expect: undeclared-default status
    # expect: undeclared-default lines
    # expect: undeclared-read total
    return f"{invoice.id} {invoice.status} {len(invoice.lines)} {invoice.total}"
