"""Everything syscontract raises, in one tree.

::

    ContractError(Exception)                        base of everything syscontract raises
    ├── ContractDeclarationError                    a declaration no contract can satisfy: unknown
    │   │                                           contract, unknown field, bad path, bad option
    │   └── ManifestError                           a manifest that cannot be read
    ├── DeadLetterNotConfirmed                      the broker did not confirm a dead letter: the
    │                                               original was requeued, never acknowledged
    ├── RegistryError                               unknown contract, unreadable contract file,
    │                                               registry unreachable
    ├── PrometheusError                             live drift cannot read the state it judges:
    │                                               Prometheus unreachable, an error answer, no data
    ├── DecodeError(ContractError, ValueError)      bytes that cannot be decoded
    └── ContractViolation(ContractError, ValueError) a message that breaks the contract
        ├── MissingCriticalField                    absent, null, or only present through a default
        └── FieldTypeError                          present with the wrong type
    MissingDependencyError(ContractError, ImportError)  an optional package is not installed

    StaleProducerError(AssertionError)              syscontract.testing: a handler let an older
                                                    producer's message through (a test failure)

Every error carries what a person on call needs as attributes, and renders them in its message:
the contract reference, the field path, the reason, the writer version when known, the handler's
qualified name, and (violations, decode errors) the raw payload so a dead-letter sink can keep it.
The message is rendered from the attributes when it is read, so a wrapper that learns the handler's
name after the check can set ``handler`` and the text follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ContractDeclarationError",
    "ContractError",
    "ContractViolation",
    "DeadLetterNotConfirmed",
    "DecodeError",
    "FieldTypeError",
    "ManifestError",
    "MissingCriticalField",
    "MissingDependencyError",
    "PrometheusError",
    "RegistryError",
    "StaleProducerError",
]


class ContractError(Exception):
    """Base of every error syscontract raises.

    Attributes (each ``None`` when it does not apply): ``contract`` (a reference such as ``order.v3``),
    ``field`` (a path such as ``customer.id``), ``reason`` (a short machine-readable word),
    ``writer`` (the version or schema id that produced the message), ``handler`` (qualified name),
    ``payload`` (the message exactly as it arrived), ``headers``, and ``decoded`` (what the message
    decoded into, when it could be decoded).
    """

    decoded: Any = None

    def __init__(
        self,
        detail: str,
        *,
        contract: str | None = None,
        field: str | None = None,
        reason: str | None = None,
        writer: str | None = None,
        handler: str | None = None,
        payload: Any = None,
        headers: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.contract = contract
        self.field = field
        self.reason = reason
        self.writer = writer
        self.handler = handler
        self.payload = payload
        self.headers = headers

    def __str__(self) -> str:
        text = f"{self.contract}: {self.detail}" if self.contract else self.detail
        if self.handler:
            text += f" in {self.handler}"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only attributes survive pickling (multiprocessing, task queues), and so do the
        # others set later (validate="full" sets ``failures``)
        attributes = self._attributes()
        extra = {k: v for k, v in self.__dict__.items() if k not in attributes and k != "detail"}
        return (_rebuild, (type(self), self.detail, attributes), extra)

    def _attributes(self) -> dict[str, Any]:
        names = ("contract", "field", "reason", "writer", "handler", "payload", "headers")
        return {name: getattr(self, name) for name in names}


def _rebuild(cls: type[ContractError], detail: str, attributes: dict[str, Any]) -> ContractError:
    return cls(detail, **attributes)


class ContractDeclarationError(ContractError):
    """A declaration that no contract can satisfy.

    Raised when ``@requires`` is applied (or at the first call, or by ``syscontract.verify()``, when
    the contract could not be resolved then): unknown contract, unknown field, malformed path or
    reference, an option with an unknown value, a schema that cannot be turned into a contract.
    ``problems`` lists every error found when ``verify()`` raises one error for several.
    """

    problems: tuple[ContractError, ...] = ()


class RegistryError(ContractError):
    """A registry cannot serve a contract: unknown name or version, unreadable or invalid file,
    a name that tries to leave the registry directory, a registry that cannot be reached."""


class PrometheusError(ContractError):
    """``drift --prometheus`` cannot see the state it judges: Prometheus (or a server speaking its
    query API) cannot be reached, answers with an error or a partial answer, or has no syscontract
    series for an environment that was asked about. Never an empty report: live drift fails closed."""


class DecodeError(ContractError, ValueError):
    """Bytes that cannot be decoded into a message (not JSON, bad framing, truncated).

    ``payload`` holds the bytes exactly as they arrived."""


class ContractViolation(ContractError, ValueError):
    """A message that breaks its contract. ``payload`` holds the message exactly as it arrived."""


class MissingCriticalField(ContractViolation):
    """A critical field was not sent.

    ``reason`` is one of ``absent`` (the key is not there), ``null`` (sent as null),
    ``defaulted`` (present only because a default, a validator or resolution filled it),
    ``not-in-writer-schema`` (the writer's schema has no such field, so any value would be the
    reader's default), ``unknown-symbol`` (the writer wrote an enum symbol the reader's enum lacks,
    so Avro would substitute the reader enum's default), ``unverifiable`` (a model instance whose
    validators may set the field: its ``model_fields_set`` is no evidence that it was sent)."""


class FieldTypeError(ContractViolation):
    """A field was sent with a value the contract does not allow: the wrong type (``reason`` is
    ``type``), or, under ``validate="full"``, a value a keyword refuses (``reason`` names it:
    ``enum``, ``minimum``, ``pattern``, ...; ``failures`` lists every failing path)."""


class MissingDependencyError(ContractError, ImportError):
    """An optional integration's package is not installed; the message names the extra to install."""


class ManifestError(ContractDeclarationError):
    """A manifest that cannot be read: the message names the file and what is wrong."""


class DeadLetterNotConfirmed(ContractError):
    """The broker did not confirm the dead letter (unroutable, or nacked): the original message was
    requeued instead of acknowledged, so it is not lost."""

    @classmethod
    def of(cls, violation: ContractError, what: str) -> DeadLetterNotConfirmed:
        """``violation``'s dead letter was not stored: ``what`` says where, why and what became of the
        original; the field, handler, payload and headers are the violation's."""
        return cls(
            f"{what}. The violation: {violation}",
            contract=violation.contract,
            field=violation.field,
            reason="dead-letter-failed",
            handler=violation.handler,
            payload=violation.payload,
            headers=violation.headers,
        )


class StaleProducerError(AssertionError):
    """``syscontract.testing``: a handler let a message from an older producer through; ``report``
    has every case. An ``AssertionError``, so test runners show it as a failed assertion."""

    def __init__(self, report: Any) -> None:
        super().__init__(str(report))
        self.report = report
