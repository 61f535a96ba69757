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

import itertools
import linecache
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from syscontract._types import Node
from syscontract.contract import Contract, FieldPath, parse_path
from syscontract.decoding import Decoder
from syscontract.errors import (
    ContractError,
    ContractViolation,
    DecodeError,
    FieldTypeError,
    MissingCriticalField,
)
from syscontract.wire import Envelope

__all__ = ["MESSAGE", "Checker", "Doubt", "compile_function"]

MESSAGE = "_sc_m"
"""The variable the generated checks read the message from."""

BUILTINS: dict[str, Any] = {f"_sc_{b.__name__}": b for b in (type, dict, list, len, bytes, Exception)}
"""The builtins generated code uses, under names no handler parameter can shadow (a parameter may
well be called ``type`` or ``bytes``)."""

_BYTES_LIKE = (bytes, bytearray, memoryview, str)
_counter = itertools.count()


class Doubt(Exception):
    """Raised inside generated fast checks: not necessarily wrong, ask the precise check."""


def compile_function(source: str, name: str, namespace: dict[str, Any], label: str) -> Any:
    """Compile generated ``source`` defining ``name`` in ``namespace``; register it with linecache."""
    filename = f"<syscontract {label} #{next(_counter)}>"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, namespace)
    return namespace[name]


_Trie = dict[tuple[str, int], tuple[bool, "_Trie"]]  # (attr, array depth) -> (test None, children)


class _Critical:
    """One critical path, resolved against the contract."""

    __slots__ = ("nodes", "path")

    def __init__(self, contract: Contract, path: FieldPath) -> None:
        self.path = path
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
        unique = {p.text: p for p in paths}
        self.fields: tuple[str, ...] = tuple(unique)
        self.critical = [_Critical(contract, p) for p in unique.values()]
        self.decoder = Decoder(contract, list(unique.values()), registry if registry is not None else _Lazy())
        self.namespace: dict[str, Any] = {"_sc_D": Doubt, **BUILTINS}
        self._names = itertools.count()
        # validate="full": the whole message too, after the critical fields (an instance of the
        # contract's own model is whole already: pydantic validated it)
        self.full: Any = None
        if validate == "full":
            from syscontract.validation import compile_validator

            self.full = compile_validator(contract)
        self.dict_lines = self._dict_lines()
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
        trie: _Trie = {}
        for critical in self.critical:
            attrs = _model_attributes(self.model, critical.path)
            if attrs is None:
                return None
            level = trie
            for index, (attr, nullable) in enumerate(attrs):
                key = (attr, critical.path.steps[index][1])
                last = index == len(attrs) - 1
                must_check, children = level.get(key, (False, {}))
                level[key] = (must_check or (last and nullable), children)
                level = children
        lines: list[str] = []
        self._emit_model(trie, MESSAGE, 0, lines)
        return lines

    def _emit_model(self, trie: _Trie, container: str, depth: int, lines: list[str]) -> None:
        # Attribute reads on a model instance go through pydantic's __getattr__ hook (~30 ns each),
        # so read as few as possible: one subset test of the fields-set, then only the values that
        # must be tested for None (annotations that admit None) or walked into.
        pad = "    " * depth
        required = self._name("fields", frozenset(attr for attr, _ in trie))
        lines.append(f"{pad}if not {required} <= {container}.__pydantic_fields_set__: raise _sc_D")
        needed = [(key, entry) for key, entry in trie.items() if entry[0] or entry[1] or key[1]]
        values = None
        if len(needed) > 1 or any(not key[0].isidentifier() for key, _ in needed):
            values = self._name("d")
            lines.append(f"{pad}{values} = {container}.__dict__")
        for (attr, arrays), (null_check, children) in needed:
            inner = depth
            value = self._name("v")
            read = f"{values}[{attr!r}]" if values is not None else f"{container}.{attr}"
            lines.append(f"{pad}{value} = {read}")
            for _ in range(arrays):
                lines.append(f"{'    ' * inner}if _sc_type({value}) is not _sc_list: raise _sc_D")
                element = self._name("e")
                lines.append(f"{'    ' * inner}for {element} in {value}:")
                inner += 1
                value = element
            if null_check or arrays:
                lines.append(f"{'    ' * inner}if {value} is None: raise _sc_D")
            if children:
                self._emit_model(children, value, inner, lines)

    # -- precise path ---------------------------------------------------------------------------

    def run(self, message: Any, headers: Mapping[str, Any] | None = None) -> Any:
        """Check ``message`` and return the payload a handler receives (decoded when it was bytes).

        Raises :class:`DecodeError` or a :class:`ContractViolation` carrying ``message`` unchanged."""
        return self.run_detailed(message, headers)[0]

    def run_detailed(self, message: Any, headers: Mapping[str, Any] | None = None) -> tuple[Any, str | None]:
        """Like :meth:`run`, and also return the writer's identity when the wire says it
        (``order.v2``), else None. Errors carry it as ``writer``."""
        if type(message) is dict and self.fast(message):
            return message, None
        if self.fast_model is not None and type(message) is self.model and self.fast_model(message):
            return message, None
        if type(message) is bytes:
            known = self.decoder.fast_confluent(message)
            if known is not None and type(known[0]) is dict and (known[2] or self.fast(known[0])):
                return known[0], known[1]
        writer = None
        payload = message
        try:
            if isinstance(message, _BYTES_LIKE):
                payload, plan = self.decoder.decode(message, headers)
                writer = plan.label if plan is not None else None
            elif _is_envelope(message):
                value, headers, key = _unwrap(message)
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
            failed.payload = message
            failed.headers = headers
            raise
        if type(payload) is dict and self.fast(payload):
            return payload, writer
        error = self.diagnose(payload)
        if error is None and self.full is not None and not (self.model is not None and type(payload) is self.model):
            data = payload.model_dump(mode="json", by_alias=True) if isinstance(payload, BaseModel) else payload
            try:
                self.full(data)
            except ContractViolation as found:
                error = found
        if error is not None:
            error.payload = message
            error.headers = headers
            error.decoded = payload
            error.writer = writer
            raise error
        return payload, writer

    def diagnose(self, payload: Any) -> ContractViolation | None:
        """The first violation in ``payload`` (a mapping or a pydantic model), or None."""
        if not self.critical:
            return None  # nothing to walk into: a primitive message (a string key) is fine
        if not isinstance(payload, (Mapping, BaseModel)):
            return FieldTypeError(
                f"the message is {_kind(payload)}, expected an object with the contract's fields",
                contract=self.ref,
                reason="type",
            )
        for critical in self.critical:
            error = self._walk(critical, 0, payload, "")
            if error is not None:
                return error
        return None

    def _walk(self, critical: _Critical, index: int, container: Any, walked: str) -> ContractViolation | None:
        path = critical.path.text
        name, arrays = critical.path.steps[index]
        here = f"{walked}.{name}" if walked else name
        if isinstance(container, BaseModel):
            attr = _attribute(type(container), name)
            if attr is None:
                return self._missing(path, "absent", f"{type(container).__qualname__} has no field {name!r}")
            if attr not in container.model_fields_set:
                default = _model_default(type(container), attr)
                return self._missing(path, "defaulted", f"not set on the model; its value is {default}")
            value = getattr(container, attr)
            typed = False  # pydantic validated the value; its Python type is not the JSON type
        elif isinstance(container, Mapping):
            if name not in container:
                where = "" if here == path else f": no {here!r}"
                return self._missing(path, "absent", f"absent from the message{where}")
            value = container[name]
            typed = True
        else:
            return self._type(path, walked, container, "object")
        if value is None:
            where = "" if here == path else f" at {here!r}"
            return self._missing(path, "null", f"sent as null{where}")
        last = index == len(critical.path.steps) - 1
        node = critical.nodes[index]
        return self._descend(critical, index, value, here, arrays, last, node, typed)

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


def _is_envelope(message: Any) -> bool:
    """Bytes with headers: an :class:`~syscontract.wire.Envelope`, or confluent-kafka's ``Message``."""
    if type(message) is Envelope:
        return True
    module = type(message).__module__
    return module.startswith(("confluent_kafka", "cimpl")) and callable(getattr(message, "value", None))


def _unwrap(message: Any) -> tuple[Any, Any, bool]:
    if type(message) is Envelope:
        return message.value, message.headers, message.key
    return message.value(), message.headers(), False


def _attribute(model: type[BaseModel], name: str) -> str | None:
    """The attribute of ``model`` whose wire name (alias) or own name is ``name``."""
    fields = model.model_fields
    for attr, info in fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        if alias == name:
            return attr
    return name if name in fields else None


def _model_default(model: type[BaseModel], attr: str) -> str:
    info = model.model_fields[attr]
    if info.default is not PydanticUndefined:
        return f"the model default {info.default!r}"
    if info.default_factory is not None:
        return "from the model's default factory"
    return "a default"  # pragma: no cover - a field outside model_fields_set always has one


def _model_attributes(model: type[BaseModel], path: FieldPath) -> list[tuple[str, bool]] | None:
    """Map a wire path onto attribute names through nested model annotations, with whether each
    attribute's annotation admits None; None when a step's type is not one model class (unions of
    models, dicts): the precise path handles those."""
    attrs: list[tuple[str, bool]] = []
    current: type[BaseModel] | None = model
    for index, (name, arrays) in enumerate(path.steps):
        if current is None:
            return None
        attr = _attribute(current, name)
        if attr is None:
            return None
        annotation = current.model_fields[attr].annotation
        attrs.append((attr, _admits_none(annotation)))
        if index == len(path.steps) - 1:
            break
        annotation = _strip_optional(annotation)
        for _ in range(arrays):
            args = typing.get_args(annotation)
            if typing.get_origin(annotation) is not list or len(args) != 1:
                return None
            annotation = _strip_optional(args[0])
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return attrs


def _admits_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _admits_none(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(_admits_none(arg) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return None in typing.get_args(annotation)
    return not isinstance(annotation, type) and origin is None  # a TypeVar, a string: be careful


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else None
    return annotation
