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
import itertools
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from pydantic import AliasChoices, AliasPath, BaseModel, ValidationError
from pydantic_core import PydanticUndefined

from syscontract import wire
from syscontract._engine._compile import BUILTINS, MESSAGE, compile_function
from syscontract._engine.decoder import Decoder, source_of
from syscontract._engine.presence import MISSING, PER_MESSAGE
from syscontract._types import Node
from syscontract.contract import Contract, FieldPath, parse_path
from syscontract.errors import (
    ContractError,
    ContractViolation,
    DecodeError,
    FieldTypeError,
    MissingCriticalField,
)
from syscontract.wire import avro

__all__ = ["Checker", "Doubt", "unsent_paths"]

_BYTES_LIKE = (bytes, bytearray, memoryview, str)


class Doubt(Exception):
    """Raised inside generated fast checks: not necessarily wrong, ask the precise check."""


_Trie = dict[tuple[str, int], "_Trie"]  # (attr, array depth) -> children; every leaf is tested for None


class _Critical:
    """One critical path, resolved against the contract once. ``names``: the wire names each step
    may arrive under (a pydantic field's alias choices), in the order pydantic tries them."""

    __slots__ = ("names", "nodes", "path")

    def __init__(self, contract: Contract, path: FieldPath, names: tuple[tuple[Wire, ...], ...]) -> None:
        self.path = path
        self.names = names
        self.nodes: list[Node] = [node for _, node in contract.walk(path)]


class Checker:
    """Checks messages against a contract's critical fields.

    ``fields`` are the consumer's paths; the contract's own ``critical`` list is added to them.
    Unknown fields and malformed paths raise :class:`ContractDeclarationError` here, never later.
    """

    def __init__(
        self, contract: Contract, fields: Sequence[str | FieldPath] = (), registry: Any = None, validate: str = "fields"
    ) -> None:
        self.contract = contract
        self.ref = str(contract.ref)
        self.model = contract.model
        paths = [parse_path(p) for p in fields] + [parse_path(p) for p in contract.critical]
        named = [_wire_names(self.model, p) for p in paths]
        unique = {p.text: (p, names) for p, names in named}
        self.fields: tuple[str, ...] = tuple(unique)
        self.critical = [_Critical(contract, p, names) for p, names in unique.values()]
        self.decoder = Decoder(contract, [p for p, _ in unique.values()], registry if registry is not None else _Lazy())
        self.namespace: dict[str, Any] = {"_sc_D": Doubt, **BUILTINS}
        self._names = itertools.count()
        # validate="full": the whole message too, after the critical fields (an instance of the
        # contract's own model is whole already: pydantic validated it)
        self.full: Any = None
        if validate == "full":
            from syscontract.validation import compile_validator

            self.full = compile_validator(contract)
        # with a model contract every decoded form becomes the model (presence first, on what was
        # sent): no dict is handed on as it is, so there are no fast dict checks
        self.dict_lines = self._dict_lines() if self.model is None else []
        self.model_lines = self._model_lines() if self.model is not None else None
        self.fast: Callable[[Any], bool] = self._compile_fast(self.dict_lines)
        self.fast_model: Callable[[Any], bool] | None = None
        if self.model_lines is not None:
            self.fast_model = self._compile_fast(self.model_lines)

    def _compile_fast(self, lines: list[str]) -> Callable[[Any], bool]:
        body = "\n".join("        " + line for line in lines) or "        pass"
        source = (
            f"def fast({MESSAGE}):\n    try:\n{body}\n"
            "    except _sc_Exception:\n        return False\n    return True\n"
        )
        return compile_function(source, "fast", dict(self.namespace), f"check {self.ref}")  # type: ignore[no-any-return]

    # -- code generation (cold path) ------------------------------------------------------------

    def _name(self, prefix: str, value: Any = None) -> str:
        # every generated name starts with _sc_, so it cannot shadow a handler's parameter
        name = f"_sc_{prefix}{next(self._names)}"
        if value is not None:
            self.namespace[name] = value
        return name

    def _dict_lines(self) -> list[str]:
        lines: list[str] = []
        for critical in self.critical:
            self._emit_dict(critical, 0, MESSAGE, 0, lines)
        if self.full is not None:
            lines.append(f"if not {self._name('valid', self.full.is_valid)}({MESSAGE}): raise _sc_D")
        return lines

    def _emit_dict(self, critical: _Critical, index: int, container: str, depth: int, lines: list[str]) -> None:
        name, arrays = critical.path.steps[index]
        pad = "    " * depth
        value = self._name("v")
        lines.append(f"{pad}{value} = {container}[{name!r}]")
        for _ in range(arrays):
            lines.append(f"{pad}if _sc_type({value}) is not _sc_list: raise _sc_D")
            element = self._name("e")
            lines.append(f"{pad}for {element} in {value}:")
            depth += 1
            pad = "    " * depth
            value = element
        if index == len(critical.path.steps) - 1:
            lines.extend(pad + line for line in self._type_test(value, critical.nodes[index]))
        else:
            lines.append(f"{pad}if _sc_type({value}) is not _sc_dict: raise _sc_D")
            self._emit_dict(critical, index + 1, value, depth, lines)

    def _type_test(self, value: str, node: Node) -> list[str]:
        plan = node.fast_plan()
        if plan is None:
            accepts = self._name("accepts", node.accepts)
            return [f"if {value} is None or not {accepts}({value}): raise _sc_D"]
        classes, symbols = plan
        lines = []
        if classes is None:
            lines.append(f"if {value} is None: raise _sc_D")
        elif len(classes) == 1:
            lines.append(f"if _sc_type({value}) is not {self._name('c', next(iter(classes)))}: raise _sc_D")
        else:
            lines.append(f"if _sc_type({value}) not in {self._name('s', frozenset(classes))}: raise _sc_D")
        if symbols is not None:
            lines.append(f"if {value} not in {self._name('symbols', symbols)}: raise _sc_D")
        return lines

    def _model_lines(self) -> list[str] | None:
        """Checks for an instance of the contract's own model: presence in ``model_fields_set`` and
        not None (pydantic validated the types). None when a path cannot be mapped statically.

        Paths are grouped by the object they read from, so each model instance costs one subset test
        of its fields-set and one ``__dict__`` read, whatever the number of fields."""
        assert self.model is not None
        if any(_may_set(cls, None) for cls in _models_in(self.model)):
            return None  # instances of a model whose validators may set fields go to the precise path
        trie: _Trie = {}
        for critical in self.critical:
            attrs = _model_attributes(self.model, critical.path)
            if attrs is None:
                return None
            level = trie
            for index, attr in enumerate(attrs):
                level = level.setdefault((attr, critical.path.steps[index][1]), {})
        lines: list[str] = []
        self._emit_model(trie, MESSAGE, 0, lines)
        return lines

    def _emit_model(self, trie: _Trie, container: str, depth: int, lines: list[str]) -> None:
        # Attribute reads on a model instance are dictionary reads; read as few as possible: one
        # subset test of the fields-set, one ``__dict__`` read, then each critical value tested for
        # None in one expression (None is refused whatever the annotation: model_construct,
        # model_copy and assignment bypass validation), and only the values walked into kept.
        # (An itemgetter and ``None in`` costs twice as much: ``in`` compares every value with ==.)
        pad = "    " * depth
        required = self._name("fields", frozenset(attr for attr, _ in trie))
        lines.append(f"{pad}if not {required} <= {container}.__pydantic_fields_set__: raise _sc_D")
        values = self._name("d")
        lines.append(f"{pad}{values} = {container}.__dict__")
        plain = [attr for (attr, arrays), children in trie.items() if not arrays and not children]
        if plain:
            tests = " or ".join(f"{values}[{attr!r}] is None" for attr in plain)
            lines.append(f"{pad}if {tests}: raise _sc_D")
        for (attr, arrays), children in trie.items():
            if not arrays and not children:
                continue
            inner = depth
            value = self._name("v")
            lines.append(f"{pad}{value} = {values}[{attr!r}]")
            for _ in range(arrays):
                lines.append(f"{'    ' * inner}if _sc_type({value}) is not _sc_list: raise _sc_D")
                element = self._name("e")
                lines.append(f"{'    ' * inner}for {element} in {value}:")
                inner += 1
                value = element
            if not children:
                lines.append(f"{'    ' * inner}if {value} is None: raise _sc_D")
            else:  # None has no fields-set: the child's subset test refuses it (AttributeError: doubt)
                self._emit_model(children, value, inner, lines)

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
        model = self.model
        if model is None and type(message) is dict and self.fast(message):
            return message, None
        if self.fast_model is not None and type(message) is model and self.fast_model(message):
            return message, None
        if model is None and type(message) is bytes:
            known = self.decoder.fast_confluent(message)
            if known is not None and isinstance(known[0], dict) and (known[2] or self.fast(known[0])):
                return known[0], known[1]
        writer = None
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
        if model is not None and isinstance(payload, BaseModel) and not isinstance(payload, model):
            # another model's instance: what it says was set, checked and validated as sent
            payload = payload.model_dump(exclude_unset=True, by_alias=True)
        decoded_here = payload is not message
        if model is None and type(payload) is dict and self.fast(payload):
            return payload, writer
        error = self.diagnose(payload, judged=decoded_here)
        received = payload
        if error is None and model is not None and isinstance(payload, Mapping):
            received, error = self._model(payload)
        elif error is None and self.full is not None and not isinstance(payload, BaseModel):
            try:
                self.full(payload)
            except ContractViolation as found:
                error = found
        elif error is None and self.full is not None and type(payload) is not model:
            try:
                self.full(payload.model_dump(mode="json", by_alias=True))
            except ContractViolation as found:
                error = found
        if error is not None:
            error.payload = _original(message)
            error.headers = headers
            error.decoded = _as_sent(payload)
            error.writer = error.writer or writer
            raise error
        return received, writer

    def _model(self, raw: Mapping[str, Any]) -> tuple[Any, ContractViolation | None]:
        """The contract's model from what was sent: validated, then its ``model_fields_set`` cut to
        the fields that were really sent (not injected by a validator, not filled by resolution), so
        a later check on the model cannot take a fill for a sent value."""
        assert self.model is not None
        try:
            instance = self.model.model_validate(raw)
        except ValidationError as exc:
            return None, self._from_validation(exc)
        _keep_sent(instance, raw, unsent_paths(raw), "", "")
        return instance, None

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

    def diagnose(self, payload: Any, *, judged: bool = False) -> ContractViolation | None:
        """The first violation in ``payload`` (a mapping or a pydantic model), or None.

        A payload an earlier check resolved from another writer's Avro is judged on what that writer
        wrote (its source), never on the defaults resolution put in it; ``judged``: this checker's
        own decoder just produced it and has judged the writer's side already."""
        if not self.critical:
            return None  # nothing to walk into: a primitive message (a string key) is fine
        if not isinstance(payload, (Mapping, BaseModel)):
            return FieldTypeError(
                f"the message is {_kind(payload)}, expected an object with the contract's fields",
                contract=self.ref,
                reason="type",
            )
        source = None if judged else source_of(payload)
        for critical in self.critical:
            error = self._from_source(source, critical.path) if source is not None else None
            if error is None:
                error = self._walk(critical, 0, payload, "")
            if error is not None:
                return error
        return None

    def _from_source(self, source: Any, path: FieldPath) -> ContractViolation | None:
        plan = source.plan
        if plan.pair is None:
            return None
        status = plan.pair.status(path)
        if status == MISSING:
            has_default, default = plan.pair.reader_default(path)
            used = f"; the reader default {default!r} was not used" if has_default else ""
            return MissingCriticalField(
                f"critical field {path.text!r} was not sent (writer schema {plan.label} has no such field{used})",
                contract=self.ref,
                field=path.text,
                reason="not-in-writer-schema",
                writer=plan.label,
            )
        if status == PER_MESSAGE:
            decoder = self.decoder
            try:
                datum = source.writer_datum()
            except ContractError as exc:  # pragma: no cover - the bytes decoded once already
                return ContractViolation(str(exc), contract=self.ref, field=path.text, reason="bad-source")
            for written in plan.pair.written(path, datum):
                if written.kind != "sent":
                    return decoder.unwritten_error(plan, written)
        return None

    def _walk(self, critical: _Critical, index: int, container: Any, walked: str) -> ContractViolation | None:
        path = critical.path.text
        name, arrays = critical.path.steps[index]
        here = f"{walked}.{name}" if walked else name
        if index and (source := source_of(container)) is not None:
            # a resolved payload nested in this message: judged on what its writer wrote
            rest = FieldPath(
                ".".join(n + "[]" * a for n, a in critical.path.steps[index:]), critical.path.steps[index:]
            )
            error = self._from_source(source, rest)
            if error is not None:
                error.field = path
                return error
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
        return self._descend(critical, index, value, here, arrays, last, node, typed)

    def _walk_dataclass(self, critical: _Critical, index: int, container: Any, here: str) -> ContractViolation | None:
        """A dataclass on the path records no fields-set: a value equal to the field's default cannot
        be told from one that was never sent, so it is refused as not sent (fail closed)."""
        path = critical.path.text
        fields = {f.name: f for f in dataclasses.fields(container)}
        name = next((n for n in critical.names[index] if n in fields), None)
        if name is None:
            return self._missing(path, "absent", f"{type(container).__qualname__} has no field {here!r}")
        value = getattr(container, name)
        spec = fields[name]
        default = spec.default
        if default is dataclasses.MISSING and spec.default_factory is not dataclasses.MISSING:
            default = spec.default_factory()
        if default is not dataclasses.MISSING and value == default:
            return self._missing(
                path,
                "absent",
                f"{type(container).__qualname__}.{name} holds its default {default!r}, and a dataclass does not "
                "record whether it was set",
            )
        if value is None:
            return self._missing(path, "null", f"sent as null at {here!r}")
        last = index == len(critical.path.steps) - 1
        arrays = critical.path.steps[index][1]
        return self._descend(critical, index, value, here, arrays, last, critical.nodes[index], False)

    def _descend(
        self, critical: _Critical, index: int, value: Any, here: str, arrays: int, last: bool, node: Node, typed: bool
    ) -> ContractViolation | None:
        if arrays:
            if not isinstance(value, (list, tuple)):
                return self._type(critical.path.text, here, value, "array")
            for position, element in enumerate(value):
                if element is None:
                    return self._missing(critical.path.text, "null", f"element {position} of {here!r} is null")
                error = self._descend(critical, index, element, f"{here}[{position}]", arrays - 1, last, node, typed)
                if error is not None:
                    return error
            return None
        if last:
            if typed and not node.accepts(value):
                return self._type(critical.path.text, here, value, node.describe())
            return None
        return self._walk(critical, index + 1, value, here)

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
def _field_names(model: type[BaseModel], name: str) -> tuple[str | None, tuple[Wire, ...]]:
    """The attribute of ``model`` that ``name`` (its own name or any of its aliases) denotes, and the
    wire names it is read from, in pydantic's order; (None, (name,)) when none."""
    config = model.model_config
    by_name = bool(config.get("populate_by_name") or config.get("validate_by_name"))
    by_alias = config.get("validate_by_alias", True) is not False
    for attr, info in model.model_fields.items():
        names = (_aliases(info.validation_alias) or ([info.alias] if info.alias else [])) if by_alias else []
        if not names:
            names = [attr]
        elif by_name:
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
    """Each step of ``path`` walked through the model's annotations (optionals and ``list[...]``
    unwrapped): the attribute it names (None once a step's type is not one model class: unions of
    models, dicts) and the wire names it may arrive under."""
    current: Any = model
    found: list[tuple[str | None, tuple[Wire, ...]]] = []
    for name, arrays in path.steps:
        attr, wire = _field_names(current, name) if current is not None else (None, (name,))
        found.append((attr, wire))
        if attr is None:
            current = None
            continue
        annotation = _strip_optional(current.model_fields[attr].annotation)
        for _ in range(arrays):
            args = typing.get_args(annotation)
            annotation = _strip_optional(args[0]) if typing.get_origin(annotation) is list and len(args) == 1 else None
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
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


def _keep_sent(instance: Any, raw: Any, unsent: set[str], here: str, shape: str) -> None:
    """Cut ``model_fields_set`` of ``instance`` (validated from ``raw``) to the fields ``raw`` really
    carried: not injected by a validator, not a null a validator replaced, not a path in ``unsent``
    (concrete, ``items[2].sku``, or for every element, ``items[].sku``). Nested models too."""
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
        key = wire if isinstance(wire, str) else ".".join(str(step) for step in wire)
        concrete = f"{here}.{key}" if here else key
        general = f"{shape}.{key}" if shape else key
        value = instance.__dict__.get(attr)
        if concrete in unsent or general in unsent or (sent is None and value is not None):
            continue
        kept.add(attr)
        if isinstance(value, BaseModel):
            _keep_sent(value, sent, unsent, concrete, general)
        elif isinstance(value, list) and isinstance(sent, list):
            for position, (item, item_sent) in enumerate(zip(value, sent, strict=False)):
                _keep_sent(item, item_sent, unsent, f"{concrete}[{position}]", f"{general}[]")
    # marked: these fields-set are what was sent (a later check may trust them whatever validators
    # the model has)
    object.__setattr__(instance, "__pydantic_fields_set__", _Sent(kept))


def unsent_paths(payload: Any) -> set[str]:
    """The paths of a resolved payload whose values the writer did not send (reader defaults, enum
    default symbols, union branches without them): every element (``items[].sku``) or one
    (``items[2].sku``). Empty for anything that is not a resolved payload."""
    source = source_of(payload)
    if source is None:
        return set()
    plan = source.plan
    unsent = {path.text for path in plan.unsent}
    if plan.hazards and plan.pair is not None:
        datum = source.writer_datum()
        for path in plan.hazards:
            unsent.update(w.where for w in plan.pair.written(path, datum) if w.kind != "sent")
    return unsent


class _Sent(set[str]):
    """The fields-set of a model the engine validated from what was sent, cut to what was sent."""

    __slots__ = ()


@functools.lru_cache(maxsize=4096)  # keyed by model classes and their attribute names
def _may_set(model: type[BaseModel], attr: str | None) -> str | None:
    """What in ``model`` may set field ``attr`` (any field, for None) without it being sent: a model
    validator, ``model_post_init``, or a before/wrap/plain field validator of that field; else None."""
    decorators = model.__pydantic_decorators__
    if decorators.model_validators:
        mode = next(iter(decorators.model_validators.values())).info.mode
        return f"a model validator (mode {mode!r})"
    if model.model_post_init is not BaseModel.model_post_init:
        return "model_post_init"
    for found in decorators.field_validators.values():
        info = found.info
        if info.mode != "after" and (attr is None or attr in info.fields or "*" in info.fields):
            return f"a field validator (mode {info.mode!r})"
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


def _is_dataclass_instance(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _original(message: Any) -> Any:
    """What an error keeps as the message exactly as it arrived: the bytes of syscontract's own
    :class:`~syscontract.wire.Envelope` (its headers are kept beside them), else the message itself (a
    client's message object, such as confluent-kafka's ``Message``, is what a sink can re-send)."""
    return message.value if type(message) is wire.Envelope else message


def _as_sent(payload: Any) -> Any:
    """What a violating message sent, for the handler under ``observe``: a model instance as the dict
    of the fields that were set, a resolved payload read again with its writer's schema alone, so no
    default reaches the handler."""
    if isinstance(payload, BaseModel):
        return payload.model_dump(exclude_unset=True, by_alias=True)  # the fields set, none defaulted
    source = source_of(payload)
    if source is None:
        return payload
    try:
        return avro.decode(source.data, source.offset, source.plan.writer_schema)
    except ContractError:  # pragma: no cover - the bytes decoded once already
        return None


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
