"""The per-declaration checker: the hot path.

A :class:`Checker` is built once per (contract, critical fields). It compiles the critical fields
into straight-line Python that tests a decoded dict (or an instance of the contract's own pydantic
model) by exact class, without loops over options or registry lookups. That fast test never accepts
what the precise check would refuse; anything it is unsure of (a missing key, ``None``, a ``str``
subclass, ``1.0`` for a JSON Schema integer) goes to :meth:`Checker.run`, which decodes, diagnoses
precisely and raises the syscontract error a person on call needs.

The generated source is registered with :mod:`linecache`, so tracebacks show it.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from pydantic import AliasChoices, AliasPath, BaseModel, ValidationError
from pydantic_core import PydanticUndefined

from syscontract import wire
from syscontract._engine.decoder import Decoder, drop
from syscontract._engine.fastpath import NO, Builder, Critical, Description, Trie
from syscontract._types import Node
from syscontract.contract import Contract, FieldPath, parse_path
from syscontract.errors import (
    ContractError,
    ContractViolation,
    DecodeError,
    FieldTypeError,
    MissingCriticalField,
)

__all__ = ["Checker", "Doubt"]

_BYTES_LIKE = (bytes, bytearray, memoryview, str)


class Doubt(Exception):
    """Raised inside generated fast checks: not necessarily wrong, ask the precise check."""


class Checker:
    """Checks messages against a contract's critical fields.

    ``fields`` are the consumer's paths; the contract's own ``critical`` list is added to them.
    Unknown fields and malformed paths raise :class:`ContractDeclarationError` here, never later.
    """

    def __init__(
        self,
        contract: Contract,
        fields: Sequence[str | FieldPath] = (),
        registry: Any = None,
        validate: str = "fields",
        *,
        as_dict: bool = False,
    ) -> None:
        self.contract = contract
        self.ref = str(contract.ref)
        self.model = contract.model
        paths = [parse_path(p) for p in fields] + [parse_path(p) for p in contract.critical]
        named = [_wire_names(self.model, p) for p in paths]
        unique = {p.text: (p, names) for p, names in named}
        self.fields: tuple[str, ...] = tuple(unique)
        self.critical = [Critical(p, [node for _, node in contract.walk(p)], names) for p, names in unique.values()]
        self.decoder = Decoder(contract, [p for p, _ in unique.values()], registry if registry is not None else _Lazy())
        self.proto = self.decoder.proto  # protobuf: the critical paths as field numbers, presence decided
        # protobuf: a handler that declares a dict receives the message as one (what was written only)
        self.to_dict: Callable[[Any], Any] | None = None
        if as_dict and self.proto is not None:
            from syscontract._engine.protobuf import as_dict as message_dict

            self.to_dict = message_dict
        # validate="full": the whole message too, after the critical fields (an instance of the
        # contract's own model is whole already: pydantic validated it)
        self.full: Any = None
        if validate == "full":
            from syscontract.validation import compile_validator

            self.full = compile_validator(contract)
        # every fast path, here and in the generated wrappers, is written by one builder from this
        model_trie = self._model_trie() if self.model is not None else None
        self.description = Description(
            ref=self.ref,
            critical=tuple(self.critical),
            model=self.model,
            model_trie=model_trie,
            json_model=model_trie is not None and _json_validatable(self.model),
            full=self.full.is_valid if self.full is not None else None,
            # with a model contract every decoded form becomes the model (presence first, on what was
            # sent): no dict is handed on as it is, so bytes are not decoded inline
            avro=contract.format == "avro" and self.model is None,
            fast_avro=self.decoder.fast_avro,
            fast_proto=self.decoder.fast_proto if self.proto is not None else None,
            proto_paths=self.proto.fast_paths() if self.proto is not None else (),
            proto_dict=self.to_dict,
            doubt_dicts=self.proto is not None and self.proto.judges_mappings,
        )
        self.namespace: dict[str, Any] = {"_sc_D": Doubt}
        self.builder = Builder(self.description, self.namespace)
        label = f"check {self.ref}"
        self.fast: Callable[[Any], bool] = self.builder.predicate(label, self.builder.dict_checks)
        self.quick: Callable[[Any, Any], Any] = self.builder.quick(label)

    def _model_trie(self) -> Trie | None:
        """The model attributes the critical paths read, for the fast test of an instance of the
        contract's own model: presence in ``model_fields_set`` and not None (pydantic validated the
        types). None when a path cannot be mapped statically, or a validator may set a field."""
        assert self.model is not None
        if any(_may_set(cls, None) for cls in _models_in(self.model)):
            return None  # instances of a model whose validators may set fields go to the precise path
        trie: Trie = {}
        for critical in self.critical:
            attrs = _model_attributes(self.model, critical.path)
            if attrs is None:
                return None
            level, owner = trie, self.model
            for index, attr in enumerate(attrs):
                arrays = critical.path.steps[index][1]
                # the exact class a value walked into must have: an instance of a subclass may set
                # fields its fields-set does not show (model_post_init, validators of its own)
                inner = _models_of(owner.model_fields[attr].annotation, arrays) if index < len(attrs) - 1 else []
                if index < len(attrs) - 1 and len(inner) != 1:
                    return None
                cls = inner[0] if inner else None
                level = level.setdefault((attr, arrays, cls), {})
                owner = cls  # type: ignore[assignment]
        return trie

    # -- precise path ---------------------------------------------------------------------------

    def run(self, message: Any, headers: Mapping[str, Any] | None = None) -> Any:
        """Check ``message`` and return the payload a handler receives (decoded when it was bytes).

        Raises :class:`DecodeError` or a :class:`ContractViolation` carrying ``message`` unchanged."""
        return self.run_detailed(message, headers)[0]

    def run_detailed(self, message: Any, headers: Mapping[str, Any] | None = None) -> tuple[Any, str | None]:
        """Like :meth:`run`, and also return the writer's identity when the wire says it
        (``order.v2``), else None. Errors carry it as ``writer``.

        One way through: decode (with the writer's schema), presence of the critical fields on what
        was written, then what the handler receives (the contract's model, validated; or the whole
        message validated with ``validate="full"``)."""
        quick = self.quick(message, headers)
        if quick is not NO:
            return quick  # type: ignore[no-any-return]
        return self.precise(message, headers)

    def precise(self, message: Any, headers: Mapping[str, Any] | None = None) -> tuple[Any, str | None]:
        """:meth:`run_detailed` without its fast paths: what every fast path is held to."""
        model = self.model
        writer = None
        plan = None
        payload = message
        try:
            if isinstance(message, _BYTES_LIKE):
                payload, plan = self.decoder.decode(message, headers)
                writer = plan.label if plan is not None else None
            elif (opened := wire.open_envelope(message)) is not None:
                value, headers, key = opened
                if not isinstance(value, _BYTES_LIKE):
                    raise DecodeError(
                        f"the {type(message).__name__} carries no bytes (value is {type(value).__name__})",
                        contract=self.ref,
                        reason="no-value",
                    )
                payload, plan = self.decoder.decode(value, headers, key=key)
                writer = plan.label if plan is not None else None
        except ContractError as failed:
            failed.contract = failed.contract or self.ref
            failed.payload = _original(message)
            failed.headers = headers
            raise
        doubt = None
        if (
            self.proto is not None
            and isinstance(payload, self.proto.base)
            and type(payload) is not self.proto.message_class
        ):
            payload, doubt = self.proto.adopt(payload)  # another class's message: by field numbers
        if model is not None and isinstance(payload, BaseModel) and not isinstance(payload, model):
            # another model's instance: what it says was set, checked and validated as sent, unless
            # something in it may have set a field (its fields are not the contract's: any doubt counts)
            doubt = self._handed_on(payload)
            payload = payload.model_dump(exclude_unset=True, by_alias=True)
        if model is None and type(payload) is dict and self.fast(payload):
            return payload, writer
        error = doubt if doubt is not None else self.diagnose(payload)
        received = payload
        if error is None and model is not None and isinstance(payload, Mapping):
            received, error = self._model(payload)
        elif error is None and model is not None and _is_dataclass_instance(payload):
            # its critical fields proved sent; the handler of a model contract still receives the model
            error = FieldTypeError(
                f"the message is {_kind(payload)}, expected a mapping or a {model.__qualname__}",
                contract=self.ref,
                reason="type",
            )
        elif error is None and self.full is not None and not isinstance(payload, BaseModel):
            try:
                self.full(payload)
            except ContractViolation as found:
                error = found
                if plan is not None and not plan.exact and found.reason == "absent":
                    # what resolution would have filled from a default was taken out: say so
                    found.detail += (
                        f" (read from the writer {plan.label}, which did not send it, or sent a value this contract "
                        "holds only through a default, such as an enum symbol it lacks: no default is used)"
                    )
        elif error is None and self.full is not None and type(payload) is not model:
            try:
                self.full(payload.model_dump(mode="json", by_alias=True))
            except ContractViolation as found:
                error = found
        if error is not None:
            error.payload = _original(message)
            error.headers = headers
            error.decoded = _as_sent(payload, error)
            if self.to_dict is not None and isinstance(error.decoded, self.proto.base):
                error.decoded = self._proto_dict(error.decoded, message)
            error.writer = error.writer or writer
            raise error
        if self.to_dict is not None and isinstance(received, self.proto.base):
            received = self._proto_dict(received, message)
        return received, writer

    def _proto_dict(self, decoded: Any, message: Any) -> Any:
        assert self.to_dict is not None
        try:
            return self.to_dict(decoded)
        except ContractError as failed:
            failed.contract = self.ref
            failed.payload = _original(message)
            raise

    def _model(self, raw: Mapping[str, Any]) -> tuple[Any, ContractViolation | None]:
        """The contract's model from what was sent: validated, then its ``model_fields_set`` cut to
        the fields that were really sent (not injected by a validator, not filled by resolution), so
        a later check on the model cannot take a fill for a sent value."""
        assert self.model is not None
        try:
            instance = self.model.model_validate(raw)
        except ValidationError as exc:
            return None, self._from_validation(exc)
        _keep_sent(instance, raw, "")
        for critical in self.critical:
            error = self._trace(critical, 0, instance, raw, "")
            if error is not None:
                return None, error
        return instance, None

    def _handed_on(self, instance: BaseModel) -> ContractViolation | None:
        """Doubt about another model's instance handed on as what it says was set: a field set by
        something other than the producer (a validator, a post-init, a dataclass default) anywhere in
        it makes it unverifiable for the critical fields (its fields are not mapped to the contract's)."""
        if not self.critical:
            return None
        found = _writer_in(instance)
        if found is None:
            return None
        path = self.critical[0].path.text
        return self._missing(
            path,
            "unverifiable",
            f"the {type(instance).__qualname__} handed on has {found}, so what it says was set is no "
            "evidence of what was sent; hand the handler the message as received (a dict or bytes)",
        )

    def _trace(self, critical: Any, index: int, container: Any, raw: Any, walked: str) -> ContractViolation | None:
        """Step ``index`` of a critical path on what syscontract validated from ``raw``: the value
        counts as sent only when ``raw`` carries it, not null, under a name that the class pydantic
        chose at this step (a union's branch, a dataclass) reads it by, and the value is not null.
        Where ``raw`` holds an object rather than data (an instance inside a dict), that object is
        judged as an instance handed in."""
        if not isinstance(raw, Mapping) or raw is container:
            return self._walk(critical, index, container, walked)
        path = critical.path.text
        name, arrays = critical.path.steps[index]
        here = f"{walked}.{name}" if walked else name
        if isinstance(container, BaseModel) or _is_dataclass_instance(container):
            owner: type = type(container)
            attr, wires = _field_names(owner, name)
        elif isinstance(container, Mapping):
            attr, wires = name, critical.names[index]
        else:
            return self._type(path, walked, container, "object")
        where = type(container).__qualname__
        if attr is None:
            return self._missing(
                path, "absent", f"{where}, the class validated at {walked or 'the top'!r}, has no {name!r}"
            )
        wire, sent = next(
            ((wire, found) for wire in wires if (found := _sent_at(raw, wire)) is not _NOTHING), (None, _NOTHING)
        )
        if sent is _NOTHING:
            reads = " or ".join(repr(w if isinstance(w, str) else ".".join(map(str, w))) for w in wires)
            return self._missing(
                path, "absent", f"{where}, the class validated at {walked or 'the top'!r}, reads {name!r} as {reads}"
            )
        if isinstance(container, Mapping):
            value = _sent_at(container, wire) if wire is not None else _NOTHING
            if value is _NOTHING:
                return self._missing(path, "absent", f"absent from the validated message at {here!r}")
        else:
            value = getattr(container, attr)
            writer = _dataclass_rewriter(type(container), attr) if _is_dataclass_instance(container) else None
            last = index == len(critical.path.steps) - 1 and not arrays
            if writer is not None and not (last and _as_sent_scalar(value, sent)):
                # the value was sent, but the dataclass may not hold it as it was sent: its default, or
                # what __post_init__ or a validator wrote, may stand in the field (a leaf still equal
                # to what was sent is that value; anything else cannot be told apart)
                return self._missing(
                    path,
                    "unverifiable",
                    f"{where} has {writer}, so its {attr!r} may not be the value sent at {here!r}",
                )
            fields_set = getattr(container, "__pydantic_fields_set__", None)
            if type(fields_set) is _Sent and attr not in fields_set:
                return self._missing(path, "absent", f"{where}.{attr} was filled, not sent")
        if sent is None or value is None:
            return self._missing(path, "null", f"sent as null at {here!r}" if sent is None else f"null at {here!r}")
        return self._trace_into(critical, index, value, sent, here, arrays)

    def _trace_into(
        self, critical: Any, index: int, value: Any, sent: Any, here: str, arrays: int
    ) -> ContractViolation | None:
        if arrays:
            if not isinstance(value, (list, tuple)) or not isinstance(sent, (list, tuple)):
                return self._type(critical.path.text, here, sent, "array")
            for position, element in enumerate(value):
                element_sent = sent[position] if position < len(sent) else _NOTHING
                if element_sent is _NOTHING:
                    return self._missing(critical.path.text, "absent", f"element {position} of {here!r} was not sent")
                if element is None or element_sent is None:
                    return self._missing(critical.path.text, "null", f"element {position} of {here!r} is null")
                error = self._trace_into(critical, index, element, element_sent, f"{here}[{position}]", arrays - 1)
                if error is not None:
                    return error
            return None
        if index == len(critical.path.steps) - 1:
            return None
        return self._trace(critical, index + 1, value, sent, here)

    def _from_validation(self, exc: ValidationError) -> ContractViolation:
        assert self.model is not None
        first = exc.errors(include_url=False)[0]
        path = _loc_path(first["loc"])
        if first["type"] == "missing":
            return MissingCriticalField(
                f"field {path!r} was not sent (absent from the message; {self.model.__qualname__} requires it)",
                contract=self.ref,
                field=path,
                reason="absent",
            )
        where = f"field {path!r}" if path else "the message"
        return FieldTypeError(
            f"{where} does not match {self.model.__qualname__}: {first['msg']}",
            contract=self.ref,
            field=path or None,
            reason="type",
        )

    def diagnose(self, payload: Any) -> ContractViolation | None:
        """The first violation in ``payload`` (a mapping, a pydantic model or a dataclass), or None.

        A payload the decoder resolved from another writer's Avro holds only what that writer wrote
        (:func:`~syscontract._engine.decoder.written_only`), so it is judged like any mapping."""
        if not self.critical:
            return None  # nothing to walk into: a primitive message (a string key) is fine
        if self.proto is not None and isinstance(payload, self.proto.base):
            found: ContractViolation | None = self.proto.diagnose(payload)
            return found  # presence on the wire's evidence (_engine/protobuf.py)
        if not isinstance(payload, (Mapping, BaseModel)) and not _is_dataclass_instance(payload):
            return FieldTypeError(
                f"the message is {_kind(payload)}, expected an object with the contract's fields",
                contract=self.ref,
                reason="type",
            )
        # a mapping becomes the model, and then each path is traced on it (``_trace``): a step through
        # a union of models is left to that trace, which knows the branch pydantic chose
        raw = self.model is not None and isinstance(payload, Mapping)
        # an instance is judged in the two passes a mapping gets (up to each path's first union step,
        # then, the model built, all of it), so that every form names the same first field
        passes = (True, False) if not raw and self.model is not None and isinstance(payload, BaseModel) else (raw,)
        protobuf = self.proto is not None and self.proto.judges_mappings and isinstance(payload, Mapping)
        for before_unions in passes:
            for position, critical in enumerate(self.critical):
                error = self._walk(critical, 0, payload, "", raw, before_unions)
                if error is None and protobuf:  # an empty list, a zero the contract counts as not sent
                    error = self.proto.in_mapping(payload, position)
                if error is not None:
                    return error
        return None

    def _walk(
        self,
        critical: Critical,
        index: int,
        container: Any,
        walked: str,
        raw: bool = False,
        before_unions: bool = False,
    ) -> ContractViolation | None:
        path = critical.path.text
        name, arrays = critical.path.steps[index]
        if before_unions and not raw and self.model is not None and index in _union_steps(self.model, critical.path):
            return None  # the first pass stops where the branch decides; the second walks on
        here = f"{walked}.{name}" if walked else name
        if _is_dataclass_instance(container):
            return self._walk_dataclass(critical, index, container, here)
        if isinstance(container, BaseModel):
            attr = _attribute(type(container), name)
            if attr is None:
                return self._missing(path, "absent", f"{type(container).__qualname__} has no field {name!r}")
            if attr not in container.model_fields_set:
                # the same content as a dict without the key: absent, whatever form it came in
                default = _model_default(type(container), attr)
                return self._missing(path, "absent", f"not set on the model; its value is {default}")
            setter = _may_set(type(container), attr)
            if setter is not None and type(container.__pydantic_fields_set__) is not _Sent:
                return self._missing(
                    path,
                    "unverifiable",
                    f"{type(container).__qualname__} has {setter}, which may set {attr!r} without it being sent, "
                    "so model_fields_set is no evidence; hand the handler the message as received (a dict or bytes)",
                )
            value = getattr(container, attr)
            typed = False  # pydantic validated the value; its Python type is not the JSON type
        elif isinstance(container, Mapping):
            if raw and self.model is not None and index in _union_steps(self.model, critical.path):
                return None  # which name counts depends on the branch pydantic chooses: traced later
            value = next(
                (found for wire in critical.names[index] if (found := _sent_at(container, wire)) is not _NOTHING),
                _NOTHING,
            )
            if value is _NOTHING:
                where = "" if here == path else f": no {here!r}"
                return self._missing(path, "absent", f"absent from the message{where}")
            typed = True
        else:
            return self._type(path, walked, container, "object")
        if value is None:
            where = "" if here == path else f" at {here!r}"
            return self._missing(path, "null", f"sent as null{where}")
        last = index == len(critical.path.steps) - 1
        node = critical.nodes[index]
        return self._descend(critical, index, value, here, arrays, last, node, typed, raw, before_unions)

    def _walk_dataclass(self, critical: Any, index: int, container: Any, here: str) -> ContractViolation | None:
        """A dataclass records no fields-set: a field of it proves it was sent only when its
        constructor had to be given it and nothing else may have written it (``_dataclass_writer``).
        Otherwise it is ``unverifiable`` whatever it holds: a factory's fresh ``uuid4()`` equals no
        default, a ``__post_init__`` fill equals none, yet neither was sent. The same rule at the top
        of a message and nested in one. (Not ``absent``: the value may well have been passed.)"""
        path = critical.path.text
        cls: type = type(container)
        attr = _field_names(cls, critical.path.steps[index][0])[0]
        if attr is None:
            return self._missing(path, "absent", f"{cls.__qualname__} has no field {here!r}")
        writer = _dataclass_writer(cls, attr)
        if writer is not None:
            return self._missing(
                path,
                "unverifiable",
                f"{cls.__qualname__} has {writer}, which may give {attr!r} a value nobody sent, and a dataclass "
                "does not record what was set; hand the handler the message as received (a dict or bytes)",
            )
        value = getattr(container, attr)
        if value is None:
            return self._missing(path, "null", f"sent as null at {here!r}")
        last = index == len(critical.path.steps) - 1
        arrays = critical.path.steps[index][1]
        return self._descend(critical, index, value, here, arrays, last, critical.nodes[index], False)

    def _descend(
        self,
        critical: Critical,
        index: int,
        value: Any,
        here: str,
        arrays: int,
        last: bool,
        node: Node,
        typed: bool,
        raw: bool = False,
        before_unions: bool = False,
    ) -> ContractViolation | None:
        if arrays:
            if not isinstance(value, (list, tuple)):
                return self._type(critical.path.text, here, value, "array")
            for position, element in enumerate(value):
                if element is None:
                    return self._missing(critical.path.text, "null", f"element {position} of {here!r} is null")
                error = self._descend(
                    critical, index, element, f"{here}[{position}]", arrays - 1, last, node, typed, raw, before_unions
                )
                if error is not None:
                    return error
            return None
        if last:
            if typed and not node.accepts(value):
                return self._type(critical.path.text, here, value, node.describe())
            return None
        return self._walk(critical, index + 1, value, here, raw, before_unions)

    def _missing(self, path: str, reason: str, detail: str) -> MissingCriticalField:
        return MissingCriticalField(
            f"critical field {path!r} was not sent ({detail})", contract=self.ref, field=path, reason=reason
        )

    def _type(self, path: str, here: str, value: Any, expected: str) -> FieldTypeError:
        where = f"field {here!r}" if here == path else f"field {here!r} (on the path to {path!r})"
        if not here:
            where = "the message"
        return FieldTypeError(
            f"{where} is {_kind(value)}, expected {expected}", contract=self.ref, field=path, reason="type"
        )


def _kind(value: Any) -> str:
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    if isinstance(value, (str, bool, int, float)):
        return f"{type(value).__name__} {shown}"
    return f"a {type(value).__name__}" if not isinstance(value, BaseModel) else f"a {type(value).__qualname__}"


class _Lazy:
    """The process-wide registry, looked up when a writer is first needed (it may be configured
    after the checker was built)."""

    def __getattr__(self, name: str) -> Any:
        from syscontract._config import settings

        return getattr(settings().registry, name)

    def __repr__(self) -> str:
        from syscontract._config import settings

        return repr(settings().registry)


@functools.lru_cache(maxsize=4096)  # keyed by model classes and names from code, not from the wire
def _field_names(model: type, name: str) -> tuple[str | None, tuple[Wire, ...]]:
    """The attribute of ``model`` (a pydantic model or a dataclass) that ``name`` (its own name or any
    of its aliases) denotes, and the wire names pydantic reads it from, in pydantic's order;
    (None, (name,)) when none."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        config: Mapping[str, Any] = model.model_config
        fields: Mapping[str, Any] = model.model_fields
    elif (found := getattr(model, "__pydantic_fields__", None)) is not None:
        config, fields = getattr(model, "__pydantic_config__", None) or {}, found
    else:  # a standard dataclass: pydantic reads each field by its own name
        known = {f.name for f in dataclasses.fields(model)} if dataclasses.is_dataclass(model) else set()
        return (name, (name,)) if name in known else (None, (name,))
    by_name = bool(config.get("populate_by_name") or config.get("validate_by_name"))
    by_alias = config.get("validate_by_alias", True) is not False
    aliases = {
        attr: (_aliases(info.validation_alias) or ([info.alias] if info.alias else [])) if by_alias else []
        for attr, info in fields.items()
    }
    for attr in fields:
        names = list(aliases[attr])
        if not names:
            names = [attr]
        elif by_name and not any(attr in theirs for other, theirs in aliases.items() if other != attr):
            # by name too, unless the name is another field's alias: a key the producer wrote for that
            # field (pydantic reads it for both) is no evidence that this one was sent
            names.append(attr)
        if name == attr or name in names:
            return attr, tuple(dict.fromkeys(names))
    return None, (name,)


def _contract_name(attr: str, names: tuple[Wire, ...]) -> str:
    """The name the contract (the model's JSON Schema) gives the field: its first alias when that is
    a key, else the attribute's own name."""
    return names[0] if isinstance(names[0], str) else attr


Wire = str | tuple[str | int, ...]
"""Where a field arrives: a key, or (an ``AliasPath``) keys and indexes from the enclosing object."""


def _aliases(alias: Any) -> list[Wire]:
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasPath):
        path = tuple(alias.path)
        return [path[0]] if len(path) == 1 and isinstance(path[0], str) else [path]
    if isinstance(alias, AliasChoices):
        return [found for choice in alias.choices for found in _aliases(choice)]
    return []


_NOTHING = object()


def _sent_at(container: Mapping[str, Any], wire: Wire) -> Any:
    """The value sent under ``wire`` in ``container``, or ``_NOTHING``."""
    if isinstance(wire, str):
        return container.get(wire, _NOTHING)
    value: Any = container
    for step in wire:
        if isinstance(step, int):
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return _NOTHING
            value = value[step]
        else:
            if not isinstance(value, Mapping) or step not in value:
                return _NOTHING
            value = value[step]
    return value


def _model_steps(model: type[BaseModel], path: FieldPath) -> list[tuple[str | None, tuple[Wire, ...]]]:
    """Each step of ``path`` walked through the model's annotations (optionals, ``Annotated`` and
    ``list[...]`` unwrapped): the attribute it names (None once a step's type is not one model class:
    unions of models, dicts) and the wire names it may arrive under. Through a union of models, a
    step may arrive under any name a branch reads it by: which branch pydantic chose, and so which
    name counts, is known only on the validated instance (``Checker._trace``)."""
    return [(attr, wire) for attr, wire, _ in _steps(model, path)]


@functools.lru_cache(maxsize=4096)  # keyed by model classes and declared paths
def _union_steps(model: type[BaseModel], path: FieldPath) -> frozenset[int]:
    """The steps of ``path`` reached through a union of models: which name they arrive under
    depends on the branch pydantic chooses."""
    return frozenset(index for index, (_, _, branches) in enumerate(_steps(model, path)) if branches > 1)


def _steps(model: type[BaseModel], path: FieldPath) -> list[tuple[str | None, tuple[Wire, ...], int]]:
    """``_model_steps``, with the number of model classes each step may be read from."""
    current: list[type[BaseModel]] = [model]
    found: list[tuple[str | None, tuple[Wire, ...], int]] = []
    for name, arrays in path.steps:
        named = [(cls, *_field_names(cls, name)) for cls in current]
        named = [(cls, attr, wire) for cls, attr, wire in named if attr is not None]
        if len(current) == 1 and named:
            found.append((named[0][1], named[0][2], 1))
        else:
            wires = tuple(dict.fromkeys(wire for _, _, names in named for wire in names))
            found.append((None, wires or (name,), len(current)))
        following: list[type[BaseModel]] = []
        for cls, attr, _ in named:
            assert attr is not None
            following.extend(m for m in _models_of(cls.model_fields[attr].annotation, arrays) if m not in following)
        current = following
    return found


def _models_of(annotation: Any, arrays: int) -> list[type[BaseModel]]:
    """The model classes a value of ``annotation`` may be, ``arrays`` lists deep (optionals,
    unions and ``Annotated`` unwrapped); empty when a level is not a list."""
    pending = [(annotation, arrays)]
    found: list[type[BaseModel]] = []
    while pending:
        annotation, depth = pending.pop(0)
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Annotated:
            pending.append((args[0], depth))
        elif origin is typing.Union or origin is types.UnionType:
            pending.extend((arg, depth) for arg in args if arg is not type(None))
        elif depth and origin is list and len(args) == 1:
            pending.append((args[0], depth - 1))
        elif not depth and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.extend([] if annotation in found else [annotation])
    return found


def _wire_names(model: type[BaseModel] | None, path: FieldPath) -> tuple[FieldPath, tuple[tuple[Wire, ...], ...]]:
    """``path`` with each step named as the contract names it (a model field may be declared by
    attribute name or any alias), and the names each step may arrive under."""
    if model is None:
        return path, tuple((name,) for name, _ in path.steps)
    walked = _model_steps(model, path)
    steps = tuple(
        (_contract_name(attr, wire) if attr is not None else name, arrays)
        for (attr, wire), (name, arrays) in zip(walked, path.steps, strict=True)
    )
    text = ".".join(name + "[]" * arrays for name, arrays in steps)
    return FieldPath(text, steps), tuple(wire for _, wire in walked)


def _attribute(model: type[BaseModel], name: str) -> str | None:
    """The attribute of ``model`` whose own name or any alias is ``name``."""
    return _field_names(model, name)[0]


def _keep_sent(instance: Any, raw: Any, here: str) -> None:
    """Cut ``model_fields_set`` of ``instance`` (validated from ``raw``) to the fields ``raw`` really
    carried: not injected by a validator, not a null a validator replaced. Nested models too. (What
    the decoder resolved from Avro holds no reader default to cut: it holds only what was written.)"""
    if not isinstance(instance, BaseModel) or not isinstance(raw, Mapping):
        return
    model = type(instance)
    kept: set[str] = set()
    for attr in instance.__pydantic_fields_set__:
        wire, sent = next(
            ((name, found) for name in _field_names(model, attr)[1] if (found := _sent_at(raw, name)) is not _NOTHING),
            (None, _NOTHING),
        )
        if wire is None:
            continue  # set by a validator, or by model_post_init: never sent
        value = instance.__dict__.get(attr)
        if sent is None and value is not None:
            continue  # a null a validator replaced
        kept.add(attr)
        key = wire if isinstance(wire, str) else ".".join(str(step) for step in wire)
        where = f"{here}.{key}" if here else key
        if isinstance(value, BaseModel):
            _keep_sent(value, sent, where)
        elif isinstance(value, list) and isinstance(sent, list):
            for position, (item, item_sent) in enumerate(zip(value, sent, strict=False)):
                _keep_sent(item, item_sent, f"{where}[{position}]")
    # marked: these fields-set are what was sent (a later check may trust them whatever validators
    # the model has)
    object.__setattr__(instance, "__pydantic_fields_set__", _Sent(kept))


class _Sent(set[str]):
    """The fields-set of a model the engine validated from what was sent, cut to what was sent."""

    __slots__ = ()


_JSON_PLAIN = frozenset(
    {"model", "model-fields", "model-field", "str", "int", "float", "bool", "list", "nullable",
     "default", "none", "any", "dict", "definitions", "definition-ref"}
)  # fmt: skip
"""pydantic-core schema kinds whose strict JSON validation takes a JSON value only as its own type and
builds the value lax validation builds from the stdlib decoder's (anything else: dates, decimals,
enums, unions, functions, types with a JSON schema of their own, is validated on the precise path).
A ``literal`` only of strings: pydantic's strict JSON check of ``Literal[1]`` takes ``true`` (and
``Literal[True]`` takes ``1``), where the precise path refuses the wrong JSON type."""


def _json_validatable(model: Any) -> bool:
    """Whether JSON bodies may be validated into ``model`` by pydantic's JSON parser (strict) with the
    precise path's verdict and value: its core schema, at every depth, holds only :data:`_JSON_PLAIN`
    kinds, nothing strict of its own (JSON and Python modes differ under strict), no custom
    ``__init__``, root model or post-init."""
    pending: list[Any] = [model.__pydantic_core_schema__]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind == "literal" and all(type(value) is str for value in node.get("expected", ())):
                pass  # strings only: strict JSON takes a string only as itself
            elif isinstance(kind, str) and kind not in _JSON_PLAIN:
                return False
            if node.get("strict") is True or node.get("custom_init") or node.get("root_model"):
                return False
            if "allow" in (node.get("extra_behavior"), node.get("extra_fields_behavior")):
                return False  # an extra key is put in the fields-set: one named like an aliased field reads as it
            if node.get("post_init"):
                return False
            pending.extend(value for key, value in node.items() if key not in ("metadata", "cls", "ref"))
    return True


@functools.lru_cache(maxsize=4096)  # keyed by model classes and their attribute names
def _may_set(model: type, attr: str | None) -> str | None:
    """What in ``model`` (a pydantic model or pydantic dataclass) may write field ``attr`` (any field,
    for None) without the producer having sent that value; else None.

    Read from the core schema pydantic validates with, not from ``__pydantic_decorators__`` alone, so
    every form counts: model validators, ``model_post_init``/``__post_init__``, a custom
    ``__init__``, field validators of every mode, ``Annotated[..., BeforeValidator | WrapValidator |
    PlainValidator | AfterValidator]`` at any depth (inside ``Optional``, ``list``, unions, nested
    ``Annotated``), and a type's own ``__get_pydantic_core_schema__``. After validators count too: one
    receives the validated value, a sent null included, and may return a value nobody sent (``None``
    -> ``"BASIC"``), which ``model_fields_set`` cannot tell from a sent one. Pydantic's own validators
    of its types (URLs, paths, IP addresses: they convert what was sent, they invent nothing) do not
    count. A schema this cannot read (not built yet, an unknown shape) counts: fail closed."""
    decorators = getattr(model, "__pydantic_decorators__", None)
    if decorators is not None and decorators.model_validators:
        mode = next(iter(decorators.model_validators.values())).info.mode
        return f"a model validator (mode {mode!r})"
    if issubclass(model, BaseModel):
        if model.model_post_init is not BaseModel.model_post_init:
            return "model_post_init"
        if model.__init__ is not BaseModel.__init__:
            return "a custom __init__"
    if decorators is not None:
        for found in decorators.field_validators.values():
            info = found.info
            if attr is None or attr in info.fields or "*" in info.fields:
                return f"a field validator (mode {info.mode!r})"
    whole, fields, definitions = _core_fields(model)
    if whole is not None:
        return whole
    for name, schema in fields.items():
        if attr is None or name == attr:
            found_validator = _validator_in(schema, definitions)
            if found_validator is not None:
                return f"{found_validator} on {name!r}"
    return None


_VALIDATORS = ("function-before", "function-wrap", "function-plain", "function-after")
_NOT_SCHEMA = frozenset({"metadata", "serialization", "cls", "function", "ref", "config", "cls_name"})


def _core_fields(owner: type) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    """From the core schema of ``owner`` (a model or a pydantic dataclass): what wraps all its fields
    (a validator of the whole class, a custom ``__init__``, a post-init), each field's schema by
    attribute, and the schema's definitions (``definition-ref`` targets)."""
    definitions: dict[str, Any] = {}
    try:
        node: Any = owner.__pydantic_core_schema__  # type: ignore[attr-defined]
        for _ in range(64):  # the way down to the fields is short; a longer one is not understood
            kind = node.get("type")
            if kind == "definitions":
                definitions.update({found["ref"]: found for found in node["definitions"]})
                node = node["schema"]
            elif kind == "definition-ref":
                node = definitions[node["schema_ref"]]
            elif kind in _VALIDATORS:
                return f"a {kind.removeprefix('function-')} validator of the whole {owner.__qualname__}", {}, {}
            elif kind in ("model", "dataclass") and node.get("cls") is owner:
                if node.get("custom_init"):
                    return "a custom __init__", {}, {}
                if node.get("post_init"):
                    return "a post-init hook", {}, {}
                node = node["schema"]
            elif kind == "model-fields":
                return None, {name: field["schema"] for name, field in node["fields"].items()}, definitions
            elif kind == "dataclass-args":
                return None, {field["name"]: field["schema"] for field in node["fields"]}, definitions
            else:
                break
    except (AttributeError, KeyError, TypeError) as exc:  # a mock schema (not built yet) raises too
        return f"a core schema syscontract cannot read ({type(exc).__name__})", {}, {}
    return "a core schema syscontract cannot read", {}, {}


def _validator_in(schema: Any, definitions: Mapping[str, Any]) -> str | None:
    """The first validator function in a field's core schema that is not pydantic's own, or None.
    Other models and dataclasses are not entered: each is judged on its own class where a path
    reaches it (a validator wrapping one is found: it belongs to this field)."""
    pending = [schema]
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, (list, tuple)):
            pending.extend(node)
            continue
        if not isinstance(node, Mapping):
            continue
        kind = node.get("type")
        if kind in _VALIDATORS and not _pydantic_own(node["function"]["function"]):
            return f"a {kind.removeprefix('function-')} validator"
        if kind in ("model", "dataclass"):
            continue
        if kind == "definition-ref":
            ref = node["schema_ref"]
            if ref not in seen:
                seen.add(ref)
                if ref not in definitions:
                    return "a schema syscontract cannot read"
                pending.append(definitions[ref])
            continue
        pending.extend(value for key, value in node.items() if key not in _NOT_SCHEMA)
    return None


def _pydantic_own(function: Any) -> bool:
    """Whether ``function`` is pydantic's own validator of one of its types, or a class of the
    standard library (``IPv4Address``): they convert a value that was sent and invent none."""
    module = getattr(function, "__module__", None) or ""
    if module == "pydantic" or module.startswith(("pydantic.", "pydantic_core")):
        return True
    return isinstance(function, type) and module.partition(".")[0] in sys.stdlib_module_names


def _dataclass_writer(cls: type, attr: str) -> str | None:
    """What in dataclass ``cls`` may give field ``attr`` a value nobody passed: a default, a default
    factory, ``__post_init__`` (it may write any field), an ``__init__`` of its own, a field the
    constructor does not take, or (a pydantic dataclass) a validator; else None. A dataclass records
    no fields-set, so a value it holds proves it was sent only when the constructor had to be given
    it and nothing else may have written it."""
    spec = next((f for f in dataclasses.fields(cls) if f.name == attr), None)
    if spec is None:
        return "no such field"
    if spec.default is not dataclasses.MISSING or spec.default_factory is not dataclasses.MISSING:
        return f"a default for {attr!r}"
    info = getattr(cls, "__pydantic_fields__", {}).get(attr)
    if info is not None and not info.is_required():
        return f"a default for {attr!r}"
    return _dataclass_rewriter(cls, attr)


def _as_sent_scalar(value: Any, sent: Any) -> bool:
    """Whether ``value`` is the JSON scalar ``sent``, unchanged (the same type and value)."""
    return type(value) is type(sent) and isinstance(sent, (str, int, float, bool)) and value == sent


def _dataclass_rewriter(cls: type, attr: str) -> str | None:
    """What in dataclass ``cls``, built by syscontract's validation from what was sent, may put in
    field ``attr`` another value than the one sent: a field its constructor does not take (its
    default stays), ``__post_init__``, an ``__init__`` of its own, or (a pydantic dataclass) a
    validator that may set it. A default does not count here: the key was sent, so it was given."""
    spec = next((f for f in dataclasses.fields(cls) if f.name == attr), None)
    if spec is None or not spec.init:
        return f"{attr!r} outside its constructor"
    if hasattr(cls, "__post_init__"):
        return "__post_init__"
    if not cls.__dataclass_params__.init:  # type: ignore[attr-defined]
        return "an __init__ of its own"
    if hasattr(cls, "__pydantic_fields__"):
        return _may_set(cls, attr)
    return None


def _models_in(model: type[BaseModel]) -> list[type[BaseModel]]:
    """``model`` and every model class its fields hold, through lists, unions and optionals."""
    found: list[type[BaseModel]] = []
    pending: list[Any] = [model]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.append(annotation)
                pending.extend(info.annotation for info in annotation.model_fields.values())
        else:
            pending.extend(typing.get_args(annotation))
    return found


def _writer_in(instance: Any) -> str | None:
    """Something in ``instance`` (models, dataclasses, lists, dicts, walked without recursion) that
    may have set a field nobody sent: a field in a model's fields-set that a validator may set (unless
    syscontract cut that fields-set to what was sent), a dataclass field with a writer. Else None."""
    pending = [instance]
    seen: set[int] = set()
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, BaseModel):
            fields_set = value.__pydantic_fields_set__
            for attr in fields_set:
                setter = _may_set(type(value), attr) if type(fields_set) is not _Sent else None
                if setter is not None:
                    return f"{setter} in {type(value).__qualname__}"
                pending.append(value.__dict__.get(attr))
        elif _is_dataclass_instance(value):
            for spec in dataclasses.fields(value):
                writer = _dataclass_writer(type(value), spec.name)
                if writer is not None:
                    return f"{writer} in {type(value).__qualname__}"
                pending.append(getattr(value, spec.name, None))
        elif isinstance(value, Mapping):
            pending.extend(value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
    return None


def _is_dataclass_instance(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _original(message: Any) -> Any:
    """What an error keeps as the message exactly as it arrived: the bytes of syscontract's own
    :class:`~syscontract.wire.Envelope` (its headers are kept beside them), else the message itself (a
    client's message object, such as confluent-kafka's ``Message``, is what a sink can re-send)."""
    return message.value if type(message) is wire.Envelope else message


def _as_sent(payload: Any, error: ContractError) -> Any:
    """What a violating message sent, for the handler under ``observe``: a model instance as the dict
    of the fields that were set, and nothing a validator, a factory or ``__post_init__`` may have
    written in place of the field found unverifiable (the decoder's payloads hold only what their
    writer wrote already), so no default reaches the handler."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(exclude_unset=True, by_alias=True)  # the fields set, none defaulted
    if error.reason != "unverifiable" or not error.field:
        return payload
    sent = _plain(payload)
    drop(sent, parse_path(error.field).steps, 0)
    return sent


def _plain(value: Any) -> Any:
    """``value`` as plain dicts and lists (a model as the fields set, a dataclass as its fields), a copy."""
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(exclude_unset=True, by_alias=True))
    if _is_dataclass_instance(value):
        return {spec.name: _plain(getattr(value, spec.name)) for spec in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _loc_path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += "[]"
        else:
            text = f"{text}.{part}" if text else str(part)
    return text


def _model_default(model: type[BaseModel], attr: str) -> str:
    info = model.model_fields[attr]
    if info.default is not PydanticUndefined:
        return f"the model default {info.default!r}"
    if info.default_factory is not None:
        return "from the model's default factory"
    return "a default"  # pragma: no cover - a field outside model_fields_set always has one


def _model_attributes(model: type[BaseModel], path: FieldPath) -> list[str] | None:
    """The attribute each step of ``path`` names, through nested models; None when a step's type is
    not one model class (the precise path handles those)."""
    attrs = [attr for attr, _ in _model_steps(model, path)]
    return None if None in attrs else cast("list[str]", attrs)


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else None
    return annotation
