"""syscontract: make the event contracts a service depends on explicit and loud.

::

    import syscontract
    from syscontract import requires, MissingCriticalField

    syscontract.configure(service="pricing")       # registry: ./contracts or SYSCONTRACT_CONTRACTS

    @requires(contract="order.v3", fields=["customerTier", "customer.id"])
    def on_order(event: dict) -> None:
        price(event["customerTier"])               # never reached without a real customerTier
"""

from syscontract._config import configure
from syscontract._engine.policy import DeadLetter
from syscontract._produces import produces
from syscontract._requires import check, requires, verify
from syscontract._version import __version__
from syscontract.contract import Contract, ContractRef, Field
from syscontract.encoding import Encoded, encode
from syscontract.errors import (
    ContractDeclarationError,
    ContractError,
    ContractViolation,
    DecodeError,
    FieldTypeError,
    MissingCriticalField,
    MissingDependencyError,
    RegistryError,
)
from syscontract.registry import FileRegistry, MemoryRegistry, Registry
from syscontract.registry.code import contract

__all__ = [
    "Contract",
    "ContractDeclarationError",
    "ContractError",
    "ContractRef",
    "ContractViolation",
    "DeadLetter",
    "DecodeError",
    "Encoded",
    "Field",
    "FieldTypeError",
    "FileRegistry",
    "MemoryRegistry",
    "MissingCriticalField",
    "MissingDependencyError",
    "Registry",
    "RegistryError",
    "__version__",
    "check",
    "configure",
    "contract",
    "encode",
    "produces",
    "requires",
    "verify",
]
