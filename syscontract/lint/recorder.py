"""What the tests saw: the contract paths each ``@requires`` handler reads, recorded while it runs.

::

    from syscontract.testing import record_reads

    with record_reads() as reads:
        run_the_tests_or_the_handlers()
    reads.write("reads.json")       # what ``syscontract lint --reads reads.json`` merges

The report (:meth:`ReadRecorder.report`, deterministic bytes through :func:`syscontract.manifest.dumps`)::

    {"handlers": [{"handler": "shop.pricing.price", "contract": "order.v3",
                   "declared": ["customer.id"], "read": ["customerTier", "items[].price"],
                   "read_with_fallback": ["customerTier"]}]}

- ``handler``: ``module.qualname`` of the decorated function; ``contract``: the declared reference.
  Handlers called at least once while recording are listed, sorted by handler and contract.
- ``declared``: the critical fields the declaration checks (its ``fields`` and the contract's own
  ``critical`` list, once resolved).
- ``read``: every path the handler read, in contract form (``customer.tier``, ``items[].price``):
  a key subscripted or looked up (``e["k"]``, ``.get``, ``.pop``, ``.setdefault``), an attribute of a
  pydantic model field. A path read only to reach a deeper one (``customer`` of ``customer.tier``)
  is not listed.
- ``read_with_fallback``: the paths of ``read`` read, at least once, with a fallback: ``.get(k, d)``
  with a default given (``.get(k)`` alone is a plain read), ``.pop(k, d)``, ``.setdefault(k, d)``,
  ``getattr(model, k, d)``; and every path read beneath a default the handler supplied that was
  used (``e.get("customer", {"tier": "BASIC"})["tier"]`` when ``customer`` was not sent).

How: the hook. While a recorder is active, every declaration's wrapper calls a recording function
instead of the user's function (:func:`syscontract._requires.reroute` rebinds the one name the
generated wrapper calls the handler by; nothing is regenerated). When the last recorder stops, that
name is bound to the user's function again: outside recording the handler receives the very object it
always received, and the hot path costs nothing more. The recording function hands the handler a
*view* of its message and records what the view is asked.

Why a view, and a view that subclasses the message's own class, rather than tracing or rewriting:

- tracing (``sys.settrace``, ``sys.monitoring``) sees lines and calls, never which key a subscript
  read: a subscript is not an event, and the value stack is not visible from Python;
- rewriting the handler (its AST or bytecode) sees the handler's own code only, not the helpers it
  hands the message to, yet a fallback in a helper the static lint cannot follow is the one thing
  this recorder exists to find;
- a view travels wherever the message goes, helpers and libraries included, and as a subclass of
  the message's own class it passes every ``isinstance`` test, and CPython's C fast paths read its
  storage, a copy of the message's own entries kept equal to it.

What the handler sees, for a dict message (a list and a pydantic model message alike):

- ``isinstance(e, dict)``, ``e == original``, ``len``, ``in``, iteration over keys, ``repr``,
  ``json.dumps(e)``, ``dict(e)``, ``{**e}``, ``f(**e)``, ``e | other`` give what the original gives:
  they read the view's storage, whose values are the message's own (not views), or the original;
- ``e[k]``, ``.get``, ``.pop`` and the rest return the same values (a nested dict, list or model as a
  view of it, equal to it) and raise the same exceptions, read from the original;
- mutations (``e[k] = v``, ``del``, ``update``, ``setdefault``, ``pop``, ``clear``, ``|=``; ``append``,
  ``sort``, ... on lists; attribute assignment on models) are made on the original, then copied into
  the view's storage: the caller sees what the handler changed, as without recording;
- ``copy.copy``, ``copy.deepcopy``, ``.copy()``, pickling and ``model_copy`` give copies of the
  original: plain dicts and lists, the contract's own model class;
- a model view is an instance of a subclass of the contract's model (cached per model class), with
  the same name, sharing the instance's ``__dict__`` and fields set: ``isinstance(e, Order)``,
  ``model_dump``, ``==`` and ``hash`` behave as for the original.

What differs, by construction: ``type(e) is dict`` (and ``type(e) is Order``) is **False** while
recording: the view's class is ``RecordingDict`` (``RecordingList``, a recording subclass of the
model). A handler that branches on the exact type takes its other branch
under the recorder; write ``isinstance`` instead. Also: ``e.get(k, d) is d`` is False when ``d`` is
a dict or list (the default comes back as a view, so reads beneath it are seen); the values of
``items()``/``values()`` and of the copies above are not views, so reads through them are not
recorded (use of the whole message is the static lint's "opaque use"); a mapping or sequence of
another class (a ``UserDict``, a tuple) is handed on as it is, and reads below it are not recorded.
``getattr(m, k, d)`` on a model is recognised from the calling instruction (a call with three
arguments in code that names ``getattr``), since Python does not tell an attribute lookup whether a
default was given. ``try: e[k] except KeyError: ...`` is a read, not a fallback: nothing at run time
tells the two apart.

Reads are recorded while the handler runs (until its coroutine finishes, for an async handler): a
view kept after that, or returned to the test, still works and records nothing. Each call has its own
views, so handlers on several threads or tasks at once record into the same recorders safely.
Guards of the broker integrations declare an identity function, not the user's handler: they are
left alone.
"""

from __future__ import annotations

import contextlib
import copy
import dis
import functools
import inspect
import operator
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType, FrameType, TracebackType
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel

from syscontract import manifest
from syscontract._requires import reroute
from syscontract.errors import ContractError

if TYPE_CHECKING:
    from syscontract._engine.declaration import Declaration

__all__ = ["ReadRecorder", "RecordingDict", "RecordingList", "record_reads"]

_ABSENT: Any = object()
_SLOTS = ("_sc_original", "_sc_call", "_sc_path", "_sc_defaulted")
_INTEGRATIONS = str(Path(__file__).resolve().parent.parent / "integrations")


# -- the recorders -----------------------------------------------------------------------------------


class _Seen:
    __slots__ = ("declared", "fallback", "read")

    def __init__(self) -> None:
        self.declared: set[str] = set()
        self.read: set[str] = set()
        self.fallback: set[str] = set()


class ReadRecorder:
    """Records the paths ``@requires`` handlers read while it is active (:func:`record_reads`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], _Seen] = {}

    def start(self) -> ReadRecorder:
        """Start recording (every handler of this process, and those declared later)."""
        _start(self)
        return self

    def stop(self) -> None:
        """Stop recording; the report keeps what was seen. When no recorder is left, every wrapper
        calls its handler directly again."""
        _stop(self)

    def __enter__(self) -> ReadRecorder:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _called(self, key: tuple[str, str], declared: tuple[str, ...]) -> None:
        with self._lock:
            seen = self._seen.get(key)
            if seen is None:
                seen = self._seen[key] = _Seen()
            seen.declared.update(declared)

    def _read(self, key: tuple[str, str], path: str, fallback: bool) -> None:
        with self._lock:
            seen = self._seen[key]
            seen.read.add(path)
            if fallback:
                seen.fallback.add(path)

    def report(self) -> dict[str, Any]:
        """``{"handlers": [{"handler", "contract", "declared", "read", "read_with_fallback"}]}``,
        sorted (see the module's documentation for what each list holds)."""
        with self._lock:
            seen = sorted((key, s.declared.copy(), s.read | s.fallback, s.fallback.copy()) for key, s in
                          self._seen.items())  # fmt: skip
        handlers = [
            {
                "handler": handler,
                "contract": contract,
                "declared": sorted(declared),
                "read": _leaves(read, read),
                "read_with_fallback": _leaves(fallback, read),
            }
            for (handler, contract), declared, read, fallback in seen
        ]
        return {"handlers": handlers}

    def dumps(self) -> str:
        """The report as text: the same bytes for the same reads (:func:`syscontract.manifest.dumps`)."""
        return manifest.dumps(self.report())

    def write(self, path: str | Path) -> None:
        """Write the report to ``path``; a :class:`~syscontract.ContractError` when it cannot be written."""
        try:
            Path(path).write_text(self.dumps(), encoding="utf-8")
        except OSError as exc:
            raise ContractError(
                f"cannot write the reads report to {path}: {exc.strerror or exc}", reason="bad-output"
            ) from exc


def record_reads() -> ReadRecorder:
    """A recorder of what ``@requires`` handlers read, as a context manager::

        with record_reads() as reads:
            on_order({"customer": {"id": "c-1"}, "total": 10.0})
        reads.report()   # {"handlers": [{"handler": ..., "read": ["customer.id", "total"], ...}]}

    Recorders may be nested or run side by side; each sees the calls made while it is active."""
    return ReadRecorder()


def _leaves(paths: set[str], among: set[str]) -> list[str]:
    """``paths`` without those read only on the way to a deeper path of ``among``."""
    return sorted(p for p in paths if not any(o.startswith((p + ".", p + "[]")) for o in among))


_recorders: list[ReadRecorder] = []
_recorders_lock = threading.Lock()


def _start(recorder: ReadRecorder) -> None:
    with _recorders_lock:
        if recorder in _recorders:
            return
        _recorders.append(recorder)
        if len(_recorders) == 1:
            reroute(_recording_handler)


def _stop(recorder: ReadRecorder) -> None:
    with _recorders_lock:
        if recorder not in _recorders:
            return
        _recorders.remove(recorder)
        if not _recorders:
            reroute(None)


# -- the recording function a wrapper calls instead of the handler ------------------------------------


def _recording_handler(declaration: Declaration, message: str) -> Callable[..., Any] | None:
    """What the wrapper of ``declaration`` calls while recording: the handler, with its message
    (the parameter named ``message``) replaced by a recording view. None: leave it alone."""
    handler = declaration.handler
    code = getattr(handler, "__code__", None)
    if isinstance(code, CodeType) and code.co_filename.startswith(_INTEGRATIONS):
        return None  # a broker guard's identity function: the user's handler is called by the guard
    try:
        parameters = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    position = next((i for i, p in enumerate(parameters) if p.name == message and p.kind in positional), None)
    key = (declaration.name, str(declaration.ref))

    def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[_Call, tuple[Any, ...]]:
        checker = declaration.checker
        declared = checker.fields if checker is not None else tuple(path.text for path in declaration.fields)
        call = _Call(key, declared, tuple(_recorders))
        if position is not None and position < len(args):
            args = (*args[:position], call.view(args[position], "", False), *args[position + 1 :])
        elif message in kwargs:
            kwargs[message] = call.view(kwargs[message], "", False)
        return call, args

    if declaration.is_async:

        async def record_async(*args: Any, **kwargs: Any) -> Any:
            call, args = begin(args, kwargs)
            try:
                return await handler(*args, **kwargs)
            finally:
                call.live = False

        return record_async

    def record(*args: Any, **kwargs: Any) -> Any:
        call, args = begin(args, kwargs)
        try:
            return handler(*args, **kwargs)
        finally:
            call.live = False

    return record


class _Call:
    """One call of a handler: where its reads go, and its views (one per value and path)."""

    __slots__ = ("declared", "key", "live", "sinks", "views")

    def __init__(self, key: tuple[str, str], declared: tuple[str, ...], sinks: tuple[ReadRecorder, ...]) -> None:
        self.key = key
        self.sinks = sinks
        self.live = True
        self.views: dict[tuple[int, str, bool], tuple[Any, Any]] = {}
        for sink in sinks:
            sink._called(key, declared)

    def read(self, path: str, fallback: bool) -> None:
        if self.live:
            for sink in self.sinks:
                sink._read(self.key, path, fallback)

    def view(self, value: Any, path: str, defaulted: bool) -> Any:
        """``value`` as the handler should get it at ``path``: a view when it is a dict, a list or
        a pydantic model, the value itself otherwise (see the module's documentation). The same value at the same path
        gives the same view within a call (``e["c"] is e["c"]``, as without recording)."""
        value = _original(value)
        kind = type(value)
        if kind is dict:
            cls: Any = RecordingDict
        elif kind is list:
            cls = RecordingList
        elif isinstance(value, BaseModel):
            cls = _model_view_class(kind)
        else:
            return value
        key = (id(value), path, defaulted)
        found = self.views.get(key)
        if found is not None:
            return found[1]
        view = cls._sc_make(value, self, path, defaulted)
        self.views[key] = (value, view)  # the value is kept, so its id is not reused while the call lives
        return view


def _original(value: Any) -> Any:
    """The object a view stands for (a view of another call is unwrapped, never wrapped twice)."""
    while type(value) in _VIEW_CLASSES:
        value = object.__getattribute__(value, "_sc_original")
    return value


def _child(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


# -- dict views ---------------------------------------------------------------------------------------


class _AsOriginal:
    """What a view is to ``copy`` and ``pickle``: its original (a copy, a deep copy, a pickle of the
    message itself, never of the view)."""

    __slots__ = ()
    _sc_original: Any

    def __copy__(self) -> Any:
        return copy.copy(self._sc_original)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return copy.deepcopy(self._sc_original, memo)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return _reduce(self._sc_original, protocol)

    def __reduce__(self) -> Any:
        return _reduce(self._sc_original, 0)


class _DictView(_AsOriginal):
    """The recording methods of a dict view (a mixin, so that the storage is the dict base's)."""

    __slots__ = ()
    _sc_original: dict[Any, Any]
    _sc_call: _Call
    _sc_path: str
    _sc_defaulted: bool

    @classmethod
    def _sc_make(cls, original: dict[Any, Any], call: _Call, path: str, defaulted: bool) -> Any:
        view: Any = cast(Any, cls)(original)
        view._sc_original = original
        view._sc_call = call
        view._sc_path = path
        view._sc_defaulted = defaulted
        return view

    def _sc_sync(self) -> None:
        dict.clear(self)  # type: ignore[arg-type]
        dict.update(self, self._sc_original)

    def _sc_get(self, key: Any, fallback: bool) -> tuple[str, bool]:
        path = _child(self._sc_path, key)
        self._sc_call.read(path, fallback or self._sc_defaulted)
        return path, self._sc_defaulted

    def __getitem__(self, key: Any) -> Any:
        path, defaulted = self._sc_get(key, False)
        return self._sc_call.view(self._sc_original[key], path, defaulted)

    def get(self, *args: Any) -> Any:
        if not 1 <= len(args) <= 2:
            return self._sc_original.get(*args)  # the original's own TypeError
        key, default = args[0], args[1] if len(args) == 2 else _ABSENT
        given = default is not _ABSENT
        path, defaulted = self._sc_get(key, given)
        value = self._sc_original.get(key, _ABSENT)
        if value is _ABSENT:
            return self._sc_call.view(default, path, True) if given else None
        return self._sc_call.view(value, path, defaulted)

    def pop(self, *args: Any) -> Any:
        if not 1 <= len(args) <= 2:
            return self._sc_original.pop(*args)
        key, given = args[0], len(args) == 2
        path, defaulted = self._sc_get(key, given)
        value = self._sc_original.pop(key, _ABSENT) if given else self._sc_original.pop(key)
        self._sc_sync()
        if value is _ABSENT:
            return self._sc_call.view(args[1], path, True)
        return self._sc_call.view(value, path, defaulted)

    def setdefault(self, *args: Any) -> Any:
        if not 1 <= len(args) <= 2:
            return self._sc_original.setdefault(*args)
        key = args[0]
        path, defaulted = self._sc_get(key, len(args) == 2)
        absent = key not in self._sc_original
        value = self._sc_original.setdefault(*args)
        self._sc_sync()
        return self._sc_call.view(value, path, defaulted or absent)

    def popitem(self) -> tuple[Any, Any]:
        key, value = self._sc_original.popitem()
        self._sc_sync()
        path, defaulted = self._sc_get(key, False)
        return key, self._sc_call.view(value, path, defaulted)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._sc_original[key] = value
        self._sc_sync()

    def __delitem__(self, key: Any) -> None:
        del self._sc_original[key]
        self._sc_sync()

    def update(self, *args: Any, **kwargs: Any) -> None:
        try:
            self._sc_original.update(*args, **kwargs)
        finally:
            self._sc_sync()

    def clear(self) -> None:
        self._sc_original.clear()
        self._sc_sync()

    def __ior__(self, other: Any) -> Any:
        try:
            result = self._sc_original.__ior__(other)
        finally:
            self._sc_sync()
        return self if result is self._sc_original else result

    def __or__(self, other: Any) -> Any:
        return self._sc_original.__or__(_original(other))

    def __ror__(self, other: Any) -> Any:
        return self._sc_original.__ror__(_original(other))

    def copy(self) -> Any:
        return self._sc_original.copy()


class RecordingDict(_DictView, dict):  # type: ignore[type-arg]
    """A view of a dict message (or of a dict inside one) that records the keys read."""

    __slots__ = _SLOTS

    @classmethod
    def fromkeys(cls, *args: Any) -> Any:
        return dict.fromkeys(*args)


# -- list views ---------------------------------------------------------------------------------------


class RecordingList(_AsOriginal, list):  # type: ignore[type-arg]
    """A view of a list inside a message: its elements are read at ``path[]``."""

    __slots__ = _SLOTS
    _sc_original: list[Any]
    _sc_call: _Call
    _sc_path: str
    _sc_defaulted: bool

    @classmethod
    def _sc_make(cls, original: list[Any], call: _Call, path: str, defaulted: bool) -> Any:
        view = cls(original)
        view._sc_original = original
        view._sc_call = call
        view._sc_path = path
        view._sc_defaulted = defaulted
        return view

    def _sc_sync(self) -> None:
        list.__setitem__(self, slice(None), self._sc_original)

    def _sc_element(self, value: Any) -> Any:
        return self._sc_call.view(value, self._sc_path + "[]", self._sc_defaulted)

    def __getitem__(self, index: Any) -> Any:
        value = self._sc_original[index]
        if isinstance(index, slice):  # a new list, as the original gives
            return RecordingList._sc_make(value, self._sc_call, self._sc_path, self._sc_defaulted)
        return self._sc_element(value)

    def __iter__(self) -> Iterator[Any]:
        for value in self._sc_original:
            yield self._sc_element(value)

    def __reversed__(self) -> Iterator[Any]:
        for value in reversed(self._sc_original):
            yield self._sc_element(value)

    def pop(self, *args: Any) -> Any:
        value = self._sc_original.pop(*args)
        self._sc_sync()
        return self._sc_element(value)

    def __setitem__(self, index: Any, value: Any) -> None:
        try:
            self._sc_original[index] = value
        finally:
            self._sc_sync()

    def __delitem__(self, index: Any) -> None:
        del self._sc_original[index]
        self._sc_sync()

    def append(self, value: Any) -> None:
        self._sc_original.append(value)
        self._sc_sync()

    def extend(self, values: Any) -> None:
        try:
            self._sc_original.extend(values)
        finally:
            self._sc_sync()

    def insert(self, index: Any, value: Any) -> None:
        self._sc_original.insert(index, value)
        self._sc_sync()

    def remove(self, value: Any) -> None:
        self._sc_original.remove(value)
        self._sc_sync()

    def clear(self) -> None:
        self._sc_original.clear()
        self._sc_sync()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        try:
            self._sc_original.sort(*args, **kwargs)
        finally:
            self._sc_sync()

    def reverse(self) -> None:
        self._sc_original.reverse()
        self._sc_sync()

    def __iadd__(self, other: Any) -> Any:  # type: ignore[misc]
        try:
            self._sc_original.__iadd__(other)
        finally:
            self._sc_sync()
        return self

    def __imul__(self, times: Any) -> Any:  # type: ignore[misc]
        self._sc_original.__imul__(times)
        self._sc_sync()
        return self

    def copy(self) -> list[Any]:
        return self._sc_original.copy()


def _reduce(original: Any, protocol: Any = None) -> Any:
    """How pickle stores a view: as its original, written as pickle writes that object, and read
    back as that very object (``itemgetter(0)((original,))``, a callable of the standard library, so
    loading needs nothing of syscontract). A plain dict or list cannot go through its own
    ``__reduce_ex__`` (protocols 0 and 1 refuse it), and a model's names its class, not the view's."""
    return operator.itemgetter(0), ((original,),)


# -- pydantic model views ----------------------------------------------------------------------------

_MODEL_STATE = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
_model_views: dict[type[Any], type[Any]] = {}
_model_views_lock = threading.Lock()


def _model_view_class(model: type[Any]) -> type[Any]:
    """The recording subclass of ``model`` (made once per model class)."""
    found = _model_views.get(model)
    if found is not None:
        return found
    with _model_views_lock:
        found = _model_views.get(model)
        if found is None:
            found = _model_views[model] = _make_model_view_class(model)
            _VIEW_CLASSES.add(found)
    return found


def _contract_name(attribute: str, info: Any) -> str:
    """The name the contract gives a model field: its alias when that is a key, else the attribute."""
    for alias in (info.alias, info.validation_alias):
        if isinstance(alias, str):
            return alias
    return attribute


def _share(source: Any, target: Any) -> None:
    """Make ``target`` hold ``source``'s instance state (the same objects, not copies)."""
    for name in _MODEL_STATE:
        with contextlib.suppress(AttributeError):
            object.__setattr__(target, name, object.__getattribute__(source, name))


def _make_model_view_class(model: type[Any]) -> type[Any]:
    names = {attribute: _contract_name(attribute, info) for attribute, info in model.model_fields.items()}
    get: Any = model.__getattribute__
    set_: Any = model.__setattr__
    delete: Any = model.__delattr__
    state = object.__getattribute__

    def __getattribute__(self: Any, name: str) -> Any:
        if name not in names:
            return get(self, name)
        call: _Call = state(self, "_sc_call")
        path = _child(state(self, "_sc_path"), names[name])
        defaulted: bool = state(self, "_sc_defaulted")
        call.read(path, defaulted or _getattr_with_default(sys._getframe(1)))
        return call.view(get(self, name), path, defaulted)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        try:
            set_(self, name, value)
        finally:
            _share(self, state(self, "_sc_original"))  # validate_assignment replaces __dict__

    def __delattr__(self: Any, name: str) -> None:
        try:
            delete(self, name)
        finally:
            _share(self, state(self, "_sc_original"))

    def __eq__(self: Any, other: Any) -> Any:
        return state(self, "_sc_original") == _original(other)

    def original(self: Any) -> Any:
        return state(self, "_sc_original")

    @classmethod  # type: ignore[misc]
    def _sc_make(cls: Any, value: Any, call: _Call, path: str, defaulted: bool) -> Any:
        view = cls.__new__(cls)
        _share(value, view)
        object.__setattr__(view, "_sc_original", value)
        object.__setattr__(view, "_sc_call", call)
        object.__setattr__(view, "_sc_path", path)
        object.__setattr__(view, "_sc_defaulted", defaulted)
        return view

    body = {
        "__module__": model.__module__,
        "__qualname__": model.__qualname__,
        "__doc__": model.__doc__,
        "__slots__": _SLOTS,
        "__getattribute__": __getattribute__,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
        "__eq__": __eq__,
        "__hash__": model.__hash__,
        "__copy__": lambda self: copy.copy(original(self)),
        "__deepcopy__": lambda self, memo=None: copy.deepcopy(original(self), memo),
        "__reduce_ex__": lambda self, protocol: _reduce(original(self)),
        "__reduce__": lambda self: _reduce(original(self)),
        "_sc_make": _sc_make,
    }
    metaclass: Any = type(model)
    return cast("type[Any]", metaclass(model.__name__, (model,), body))


def _getattr_with_default(frame: FrameType) -> bool:
    """Whether the attribute being read is read by ``getattr(obj, name, default)`` in ``frame``:
    the instruction running there is a call with three arguments, in code that names ``getattr``."""
    code = frame.f_code
    if "getattr" not in code.co_names:
        return False
    instruction = _instructions(code).get(frame.f_lasti)
    return instruction is not None and instruction.opname in ("CALL", "CALL_FUNCTION") and instruction.arg == 3


@functools.lru_cache(maxsize=512)
def _instructions(code: CodeType) -> dict[int, dis.Instruction]:
    return {instruction.offset: instruction for instruction in dis.get_instructions(code)}


_VIEW_CLASSES: set[type[Any]] = {RecordingDict, RecordingList}
