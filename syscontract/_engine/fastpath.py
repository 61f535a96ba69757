"""Every fast path, from one description of a declaration's check and one builder.

A message reaches a handler through one of several entry points: the ``@requires`` wrapper, the
``check()`` function, a broker guard's wire check, the Kafka deserializer. Each of them first tries a
fast path, generated code that accepts a message only when the precise path
(:meth:`~syscontract._engine.checker.Checker.run_detailed`) would accept it too and hand on the same
value, and raises :class:`~syscontract._engine.checker.Doubt` (``_sc_D``) otherwise. Those fast paths
are written here, and only here:

- :class:`Description` is what a declaration checks, resolved once: the critical paths with the
  contract's type at every step, the contract's model and which of its attributes hold the critical
  fields, the whole-message validator, and whether Avro may be decoded inline;
- :class:`Builder` writes, from it, the code for each form a message may take (a ``dict``, an
  instance of the contract's model, JSON bytes of an object, Confluent-framed Avro from a writer
  already planned), and one dispatch over those forms that every entry point uses with its own
  success statement. A bound or a test added to a form here holds for every entry point.

The generated code reads the message from ``_sc_m`` and calls nothing of ours on a passing message;
every name it uses starts with ``_sc_`` and is bound in the checker's namespace.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import fastavro

from syscontract import wire
from syscontract._codegen import BUILTINS, MESSAGE, Code, compile_function
from syscontract._engine.decoder import MAX_MESSAGE_BYTES, resolved, size
from syscontract.wire import confluent
from syscontract.wire import json as json_wire

if TYPE_CHECKING:
    from syscontract._types import Node
    from syscontract.contract import FieldPath

__all__ = ["FRAMING_HEADERS", "KEY_FRAMING_HEADERS", "NO", "Builder", "Critical", "Description", "Trie"]

FRAMING_HEADERS = (wire.CONTRACT_HEADER, confluent.VALUE_HEADER)
"""The headers the decoder reads a message value's writer from (``syscontract-encoding`` is read only
next to ``syscontract-contract``). A message whose headers carry none of them is read by its prefix
alone, as bytes without headers are."""
KEY_FRAMING_HEADERS = (wire.CONTRACT_HEADER, confluent.KEY_HEADER)
"""The same for a message key, whose schema id travels in its own header."""

Trie = dict[tuple[str, int, type | None], "Trie"]
"""(model attribute, array depth, the exact model class of its values when they are walked into) ->
the attributes read below it; every leaf is tested for None."""


class Critical:
    """One critical path, resolved against the contract once: its steps and the contract's type at
    each step (``nodes``)."""

    __slots__ = ("names", "nodes", "path")

    def __init__(self, path: FieldPath, nodes: Sequence[Node], names: tuple[tuple[Any, ...], ...]) -> None:
        self.path = path
        self.nodes = list(nodes)
        self.names = names  # the wire names each step may arrive under (the precise path reads them)


@dataclass(frozen=True)
class Description:
    """What one declaration checks on every message, resolved once.

    ``model_trie`` is None when instances of ``model`` cannot be judged by their fields-set alone (a
    validator may set a field, a path crosses a union): they go to the precise path. ``json_model``:
    instances are judged by their fields-set, and the model is built of types whose strict JSON
    validation takes each value as the precise path would (decided once, by the checker), so JSON
    bodies are validated into the model in one pass and judged as instances. ``avro``: the
    contract is Avro and the handler receives dicts, so Confluent-framed Avro from a writer the
    decoder has planned to need nothing but decoding is decoded inline."""

    ref: str
    critical: tuple[Critical, ...]
    model: type | None
    model_trie: Trie | None
    full: Callable[[Any], bool] | None  # the whole-message validator's yes/no (validate="full")
    avro: bool
    fast_avro: Mapping[bytes, tuple[Any, ...]]  # the decoder's table of planned writers, read in place
    max_bytes: int = MAX_MESSAGE_BYTES
    json_model: bool = False  # JSON bodies are validated into ``model`` by pydantic's JSON parser
    # protobuf: the decoder's table of planned writers (read in place), and each critical path as
    # (attribute, presence, zero value, open enum's numbers, HasField) steps, None where no straight line
    # judges it
    fast_proto: Mapping[bytes, tuple[Any, ...]] | None = None
    proto_paths: tuple[tuple[tuple[str, str, Any, frozenset[int] | None, Any], ...] | None, ...] = ()
    proto_dict: Callable[[Any], Any] | None = None  # protobuf: the handler takes the message as a dict
    # a dict is never judged fast: its values decide too (protobuf: an empty list, a zero counted as not sent)
    doubt_dicts: bool = False


class Builder:
    """Writes the fast paths of one :class:`Description`. Constants the code reads are bound in
    ``namespace`` (shared by every function generated for the declaration)."""

    def __init__(self, description: Description, namespace: dict[str, Any]) -> None:
        self.description = description
        self.namespace = namespace
        self._names = itertools.count()
        self._bound: dict[Any, str] = {}  # (prefix, value) -> its name: regenerated code reuses them
        namespace.update(BUILTINS)
        namespace.update(
            {
                "_sc_model": description.model,
                "_sc_validate": json_wire.model_reader(description.model) if description.json_model else None,
                "_sc_fastavro": description.fast_avro,
                "_sc_fastproto": description.fast_proto,
                "_sc_BytesIO": io.BytesIO,
                "_sc_read": fastavro.schemaless_reader,
                "_sc_written": resolved,
                "_sc_loads": json_wire.decode_fast,
                "_sc_WIRE": _WIRE,
                "_sc_OPEN": _OPEN,
                "_sc_memoryview": memoryview,
                "_sc_size": size,
                "_sc_MAX": description.max_bytes,
                "_sc_SHORT": description.max_bytes // 4,
            }
        )

    def name(self, prefix: str, value: Any = None) -> str:
        """A fresh name (every generated name starts with ``_sc_``, so it cannot shadow a handler's
        parameter), bound to ``value`` in the namespace when one is given."""
        if value is None:
            return f"_sc_{prefix}{next(self._names)}"
        try:
            key: Any = (prefix, type(value), value)
            hash(key)
        except TypeError:
            key = (prefix, id(value))  # the namespace keeps the value, so its id stays its own
        name = self._bound.get(key)
        if name is None:
            name = self._bound[key] = f"_sc_{prefix}{next(self._names)}"
            self.namespace[name] = value
        return name

    # -- the forms a message may take --------------------------------------------------------------

    @property
    def takes_dicts(self) -> bool:
        """Whether a dict is handed on as it is (a model contract makes every form its model)."""
        return self.description.model is None

    def dict_checks(self, code: Code, value: str = MESSAGE) -> None:
        """The critical fields of the dict in ``value``: present, not None, of the contract's type
        (exact classes only); then the whole message, with ``validate="full"``."""
        if self.description.doubt_dicts:
            code("raise _sc_D")
            return
        for critical in self.description.critical:
            self._dict_path(code, critical, 0, value)
        if self.description.full is not None:
            code(f"if not {self.name('valid', self.description.full)}({value}): raise _sc_D")

    def _dict_path(self, code: Code, critical: Critical, index: int, container: str) -> None:
        name, arrays = critical.path.steps[index]
        value = self.name("v")
        code(f"{value} = {container}[{name!r}]")
        self._elements(code, critical, index, value, arrays)

    def _elements(self, code: Code, critical: Critical, index: int, value: str, arrays: int) -> None:
        """``value`` nested ``arrays`` lists deep: every element walked, each a list (or, innermost,
        the step's value)."""
        if arrays:
            code(f"if _sc_type({value}) is not _sc_list: raise _sc_D")
            element = self.name("e")
            with code.block(f"for {element} in {value}:"):
                self._elements(code, critical, index, element, arrays - 1)
        else:
            self._step(code, critical, index, value)

    def _step(self, code: Code, critical: Critical, index: int, value: str) -> None:
        if index == len(critical.path.steps) - 1:
            self._type_test(code, value, critical.nodes[index])
        else:
            code(f"if _sc_type({value}) is not _sc_dict: raise _sc_D")
            self._dict_path(code, critical, index + 1, value)

    def _type_test(self, code: Code, value: str, node: Node) -> None:
        plan = node.fast_plan()
        if plan is None:
            accepts = self.name("accepts", node.accepts)
            code(f"if {value} is None or not {accepts}({value}): raise _sc_D")
            return
        classes, symbols = plan
        if classes is None:  # any value but None
            code(f"if {value} is None: raise _sc_D")
        elif len(classes) == 1:
            code(f"if _sc_type({value}) is not {self.name('c', next(iter(classes)))}: raise _sc_D")
        else:
            code(f"if _sc_type({value}) not in {self.name('s', frozenset(classes))}: raise _sc_D")
        if symbols is not None:
            code(f"if {value} not in {self.name('symbols', symbols)}: raise _sc_D")

    def model_checks(self, code: Code, trie: Trie, container: str = MESSAGE) -> None:
        """The critical fields of an instance of the contract's model in ``container``: set (in its
        fields-set) and not None, pydantic having validated the types.

        Attribute reads on a model instance are dictionary reads; read as few as possible: one subset
        test of the fields-set, one ``__dict__`` read, then each critical value tested for None in one
        expression (None is refused whatever the annotation: ``model_construct``, ``model_copy`` and
        assignment bypass validation), and only the values walked into kept."""
        required = self.name("fields", frozenset(attr for attr, _, _ in trie))
        code(f"if not {required} <= {container}.__pydantic_fields_set__: raise _sc_D")
        values = self.name("d")
        code(f"{values} = {container}.__dict__")
        plain = [attr for (attr, arrays, _), children in trie.items() if not arrays and not children]
        if plain:
            code(f"if {' or '.join(f'{values}[{attr!r}] is None' for attr in plain)}: raise _sc_D")
        for (attr, arrays, cls), children in trie.items():
            if arrays or children:
                value = self.name("v")
                code(f"{value} = {values}[{attr!r}]")
                self._model_elements(code, children, value, arrays, cls)

    def _model_elements(self, code: Code, children: Trie, value: str, arrays: int, cls: type | None) -> None:
        if arrays:
            code(f"if _sc_type({value}) is not _sc_list: raise _sc_D")
            element = self.name("e")
            with code.block(f"for {element} in {value}:"):
                self._model_elements(code, children, element, arrays - 1, cls)
        elif children:  # the annotated class exactly (None, a subclass: doubt), then its fields
            code(f"if _sc_type({value}) is not {self.name('model', cls)}: raise _sc_D")
            self.model_checks(code, children, value)
        else:
            code(f"if {value} is None: raise _sc_D")

    def json_body(self, code: Code, raw: str) -> None:
        """JSON of an object in ``raw`` (bytes, bytearray, memoryview or str; the caller has seen ``{``
        first) into ``_sc_m`` with the fast decoder (:func:`syscontract.wire.json.decode_fast`, which
        refuses what it may read differently from the precise path's decoder), then the dict checks.
        What it refuses, or reads as anything but a dict, is a doubt."""
        code(
            f"{MESSAGE} = _sc_loads({raw})",
            f"if _sc_type({MESSAGE}) is not _sc_dict: raise _sc_D",
        )
        self.dict_checks(code)

    def json_model_body(self, code: Code, raw: str) -> None:
        """JSON of an object in ``raw`` validated into the contract's model by pydantic's own JSON
        parser (:func:`syscontract.wire.json.model_reader`: strict, refusing what it may read
        differently), then judged as an instance is: the critical fields set and not None. The
        fields-set pydantic records is what the JSON contained (no validator of the model may set a
        field: ``model_trie`` says so)."""
        assert self.description.model_trie is not None
        code(f"{MESSAGE} = _sc_validate({raw})")
        self.model_checks(code, self.description.model_trie)

    def avro_body(self, code: Code, raw: str) -> None:
        """Confluent-framed Avro in ``raw`` from a writer the decoder planned to need one decode
        (``_sc_e``: its entry in the decoder's table, looked up by the caller) into ``_sc_m``, without
        what resolution filled from reader defaults when the writer is not the reader (``_sc_e[4]``),
        then the dict checks unless the writer's schema is the contract's and sends every critical
        field non-null (``_sc_e[3]``)."""
        code(
            f"_sc_s = _sc_BytesIO({raw})",
            "_sc_s.seek(5)",
            f"{MESSAGE} = _sc_read(_sc_s, _sc_e[0], _sc_e[1])",
            f"if _sc_s.tell() != _sc_len({raw}) or _sc_type({MESSAGE}) is not _sc_dict: raise _sc_D",
            f"if _sc_e[4] is not None: {MESSAGE} = _sc_written({MESSAGE}, _sc_e[4], {raw})",
        )
        checks = Code()
        self.dict_checks(checks)
        if checks.lines:
            with code.block("if not _sc_e[3]:"):
                code.nest(checks)

    def proto_body(self, code: Code, raw: str) -> None:
        """Confluent-framed protobuf in ``raw`` from a writer the decoder planned (``_sc_e``: the end of
        its message-index array, the array's bytes, the reader class's ``FromString``, the writer's
        label), parsed with the reader's class into ``_sc_m``, then each critical path on it: a field
        with presence by ``HasField``, a list or map by being non-empty, an open enum's value among its
        numbers. A path no straight line judges (one through a list) is a doubt. A message field on
        the way is not tested: unset, it reads as an empty message, on which the last step fails.
        ``proto_dict``: the message handed on as its JSON mapping."""
        code(
            f"if {raw}[5:_sc_e[0]] != _sc_e[1]: raise _sc_D",
            f"{MESSAGE} = _sc_e[2]({raw}[_sc_e[0]:])",
        )
        for steps in self.description.proto_paths:
            if steps is None:
                code("raise _sc_D")
                return
            value = MESSAGE
            for index, (attr, presence, zero, numbers, has) in enumerate(steps):
                here = f"{value}.{attr}"
                if index < len(steps) - 1:
                    pass  # a message field: unset, it reads as an empty message, where the next step fails
                elif presence == "explicit":  # HasField unbound: no bound method made per call
                    code(f"if not {self.name('has', has)}({value}, {attr!r}): raise _sc_D")
                elif presence == "implicit":
                    code(f"if {here} == {self.name('zero', zero)}: raise _sc_D")
                else:  # repeated, the last step: sent when not empty
                    code(f"if not {here}: raise _sc_D")
                if numbers is not None and index == len(steps) - 1:
                    if presence == "repeated":
                        code(f"if not {self.name('enum', numbers)}.issuperset({here}): raise _sc_D")
                    else:
                        code(f"if {here} not in {self.name('enum', numbers)}: raise _sc_D")
                if index < len(steps) - 1:  # a local of its own prefix: never a bound constant's name
                    code(f"_sc_pb{index} = {here}")
                    value = f"_sc_pb{index}"
        if self.description.proto_dict is not None:
            code(f"{MESSAGE} = {self.name('todict', self.description.proto_dict)}({MESSAGE})")

    # -- one dispatch over the forms, for every entry point -------------------------------------

    def dispatch(
        self,
        code: Code,
        raw: str,
        success: Callable[[Code, str | None], object],
        *,
        unframed: str = "",
        forms: Sequence[str] = ("model", "dict", "bytes"),
    ) -> None:
        """Try the message in ``raw`` on each fast path its form has; a passing message ends in
        ``success(code, writer)`` (``writer``: an expression naming the writer's version, None when the
        form does not know it), anything else falls through to what the caller writes next (the
        precise path). ``unframed``: a condition (on the entry point's headers) that must hold for
        bytes to be read by their prefix alone, as the decoder reads bytes whose headers name no writer.
        ``forms``: the forms this entry point may be given."""
        description = self.description
        branches: list[tuple[str, Callable[[Code], None]]] = []
        if "model" in forms and description.model_trie is not None:
            trie = description.model_trie
            branches.append((f"_sc_type({MESSAGE}) is _sc_model", lambda c: self._tried(c, trie, success)))
        if "dict" in forms and self.takes_dicts:
            branches.append((f"_sc_type({MESSAGE}) is _sc_dict", lambda c: self._tried(c, None, success)))
        if "bytes" in forms and (self.takes_dicts or description.json_model):
            # bytes, bytearray, memoryview and str are bounded once, here, for every form read from
            # them, by the decoder's own rule (decoder.size) wherever a length alone cannot tell
            bounded = (
                f"_sc_type({MESSAGE}) in _sc_WIRE and (_sc_type({MESSAGE}) is not _sc_memoryview and "
                f"_sc_len({MESSAGE}) <= _sc_SHORT or _sc_size({MESSAGE}) <= _sc_MAX)"
            )
            test = f"{bounded} and ({unframed})" if unframed else bounded
            branches.append((test, lambda c: self._bytes(c, success)))
        if not branches:
            return
        code(f"{MESSAGE} = {raw}")
        if "bytes" in forms and description.fast_proto is not None:
            self._proto_first(code, success, unframed)
        for index, (test, body) in enumerate(branches):
            with code.block(f"{'if' if index == 0 else 'elif'} {test}:"):
                body(code)

    def _proto_first(self, code: Code, success: Callable[[Code, str | None], object], unframed: str) -> None:
        """Bytes from a planned protobuf writer, tried before any other form: a protobuf consumer's
        messages are those, and the forms' tests (a dict, JSON's ``{``) would cost a tenth of the
        parse. What this does not take falls through to the other forms with the message unchanged."""
        test = f"_sc_type({MESSAGE}) is _sc_bytes and _sc_len({MESSAGE}) <= _sc_MAX"
        with code.block(f"if {test} and ({unframed}):" if unframed else f"if {test}:"):
            code(f"_sc_e = _sc_fastproto.get({MESSAGE}[:5])")
            with code.block("if _sc_e is not None:"):
                code(f"_sc_body = {MESSAGE}")
                self._attempt(code, lambda: self.proto_body(code, "_sc_body"), success, "_sc_e[3]",
                              otherwise=f"{MESSAGE} = _sc_body")  # fmt: skip

    def _tried(self, code: Code, trie: Trie | None, success: Callable[[Code, str | None], object]) -> None:
        checks = (lambda: self.dict_checks(code)) if trie is None else (lambda: self.model_checks(code, trie))
        self._attempt(code, checks, success, None)

    @staticmethod
    def _attempt(
        code: Code,
        body: Callable[[], object],
        success: Callable[[Code, str | None], object],
        writer: str | None,
        otherwise: str = "pass",
    ) -> None:
        """``body``'s checks in a ``try``, then ``success`` (the writer named by ``writer``) when none
        raised; an exception runs ``otherwise`` and leaves the message to the tests after this one
        (the precise path last)."""
        with code.block("try:"):
            body()
        with code.block("except _sc_Exception:"):
            code(otherwise)
        with code.block("else:"):
            success(code, writer)

    def _bytes(self, code: Code, success: Callable[[Code, str | None], object]) -> None:
        raw = "_sc_body"
        # a view is read as the bytes it holds, as the decoder reads it (whatever its shape or format)
        code(f"{raw} = {MESSAGE}.tobytes() if _sc_type({MESSAGE}) is _sc_memoryview else {MESSAGE}")
        with code.block(f"if {raw}[:1] in _sc_OPEN:"):  # not Confluent (0x00, 0x01), single-object (0xC3), a BOM
            read = self.json_body if self.takes_dicts else self.json_model_body
            self._attempt(code, lambda: read(code, raw), success, None)
        if self.description.fast_proto is not None:
            # protobuf is read inline from bytes only; bytes themselves were tried first (_proto_first)
            with code.block(f"elif _sc_type({raw}) is _sc_bytes and _sc_type({MESSAGE}) is not _sc_bytes:"):
                code(f"_sc_e = _sc_fastproto.get({raw}[:5])")
                with code.block("if _sc_e is not None:"):
                    self._attempt(code, lambda: self.proto_body(code, raw), success, "_sc_e[3]")
        if not self.description.avro:
            return
        with code.block(f"elif _sc_type({raw}) is _sc_bytes:"):  # Avro is read inline from bytes only
            code(f"_sc_e = _sc_fastavro.get({raw}[:5])")
            with code.block("if _sc_e is not None:"):
                self._attempt(code, lambda: self.avro_body(code, raw), success, "_sc_e[2]")

    def unframed(self, headers: str, framing: Sequence[Any]) -> str:
        """The condition that headers in ``headers`` (None, a dict, or a list of ``(name, value)``
        pairs as Kafka gives them) name no writer (none of ``framing``): only then are bytes read by
        their prefix alone. Anything else is the precise path's."""
        pairs = self.name("unframed", _pairs_unframed(framing))
        names = " and ".join([f"_sc_type({headers}) is _sc_dict", *(f"{n!r} not in {headers}" for n in framing)])
        return f"{headers} is None or ({names}) or (_sc_type({headers}) is _sc_list and {pairs}({headers}))"

    # -- the generated functions ---------------------------------------------------------------

    def function(self, name: str, params: str, code: Code, label: str) -> Any:
        """Compile ``def name(params):`` with ``code`` as its body in the namespace."""
        source = Code()
        with source.block(f"def {name}({params}):"):
            source.nest(code)
        return compile_function(source.text(), name, dict(self.namespace), label)

    def predicate(self, label: str, checks: Callable[[Code], None]) -> Callable[[Any], bool]:
        """``fast(_sc_m) -> bool``: True when ``checks`` raise no exception on the message."""
        body = Code()
        with body.block("try:"):
            checks(body)
        with body.block("except _sc_Exception:"):
            body("return False")
        body("return True")
        return self.function("fast", MESSAGE, body, label)  # type: ignore[no-any-return]

    def quick(self, label: str, framing: Sequence[Any] = FRAMING_HEADERS) -> Callable[[Any, Any], Any]:
        """``quick(message, headers) -> (payload, writer)`` on a fast path, else ``_sc_NO``: the fast
        paths of :func:`syscontract.check`, the same as every other entry point's."""
        self.namespace["_sc_NO"] = NO
        body = Code()
        self.dispatch(body, "_sc_value", lambda c, writer: c(f"return {MESSAGE}, {writer}"),
                      unframed=self.unframed("_sc_raw", framing))  # fmt: skip
        body("return _sc_NO")
        return self.function("quick", "_sc_value, _sc_raw", body, label)  # type: ignore[no-any-return]


_WIRE = frozenset({bytes, bytearray, memoryview, str})
"""The forms a message's bytes may come in (read as the decoder reads them)."""
_OPEN = (b"{", "{")
"""How a JSON object read inline starts (a memoryview's first item compares equal to ``b"{"``)."""

NO = object()
"""What :meth:`Builder.quick`'s function returns when no fast path took the message."""


def _pairs_unframed(framing: Sequence[Any]) -> Callable[[list[Any]], bool]:
    """For raw headers that are a list of ``(name, value)`` pairs (Kafka's): whether every entry is
    such a pair with a text name, and none names a writer. Anything else is the precise path's."""
    names = frozenset(framing)

    def unframed(raw: list[Any]) -> bool:
        for pair in raw:
            if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not str or pair[0] in names:
                return False
        return True

    return unframed
