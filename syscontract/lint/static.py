"""What each handler reads, found in its source with :mod:`ast` (the standard library's own parser,
kept in step with the language): the user's code is parsed, never imported or run.

A *handler* is a function or method decorated with ``@requires`` (``requires``, ``syscontract.requires``,
an alias, ``from syscontract._requires import requires``), or one handed to a broker guard with a
literal contract (``nats.Guard``, ``rabbitmq.Guard``/``AsyncGuard``, ``redis.StreamConsumer``/
``AsyncStreamConsumer``). ``@produces`` functions are found and listed, not analysed: their message is
the value they return, and the contract of what they take in is not known.

From the handler's message parameter, the analysis follows the message through the code and notes every
field it reads, as a contract path (``customer.tier``, ``items[].price``), and how:

- ``direct``: ``e["k"]``, ``e.k``, ``getattr(e, "k")``, a presence test that raises when the field is
  absent, a ``match`` whose other cases raise;
- ``fallback``: ``e.get("k", d)``, ``e.get("k") or d``, ``e["k"] or d``, ``getattr(e, "k", d)``,
  ``e.setdefault``/``e.pop("k", d)``, a conditional expression on the field's presence, ``if "k" not in
  e: e["k"] = d`` (or a local name given a value when the field is absent or None), a ``try`` around a
  read whose ``except KeyError`` (``AttributeError``, ``LookupError``, ``Exception``) does not raise, a
  ``match`` with a case that does not raise for messages without the field, a default of a helper's
  parameter filled by ``**e``; ``e.get("k")`` whose None nobody tests is a fallback to None;
- ``presence``: ``"k" in e``, ``hasattr``, ``is None``, ``if e.get("k"):`` whose absent branch neither
  raises nor puts a value in: the field is optional to the handler.

It follows the message through local names (``c = e["customer"]``; copies such as ``dict(e)``,
``{**e}``, ``e.copy()``, ``e.model_dump()``), loops and comprehensions over arrays (``for it in
e["items"]`` reads ``items[]``), ``enumerate``/``zip``, ``match`` mapping and class patterns, and into
the functions of the scanned files it hands the message or a part of it to (module functions, imported
ones, methods through ``self``/``cls``), up to :data:`CALL_DEPTH` calls deep, with their return value
coming back. What it cannot follow is an *opaque* use: ``**e`` or the whole message (or a record or
array part of it, when the contract says so) handed to a function outside the scanned files, ``e[k]``
with a computed key, iterating the whole message, ``e.items()``/``keys()``/``values()``.
"""

from __future__ import annotations

import ast
import io
import os
import tokenize
from ast import stmt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from syscontract.errors import ContractDeclarationError
from syscontract.inventory import module_name

__all__ = [
    "CALL_DEPTH",
    "MAX_SOURCE_BYTES",
    "Declared",
    "Module",
    "Opaque",
    "Read",
    "analyse",
    "discover",
    "load_modules",
    "module_name",
    "source_files",
]

CALL_DEPTH = 3
"""How many calls deep the analysis follows the message into functions of the scanned files."""

MAX_SOURCE_BYTES = 8 * 1024 * 1024
"""A larger file is refused (exit 2): real handler modules are far smaller, generated ones are not
worth an unbounded parse."""

_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "build", "dist", "venv"})

_REQUIRES = frozenset(
    {"syscontract.requires", "syscontract._requires.requires", "syscontract.integrations.faststream.guard"}
)
_PRODUCES = frozenset({"syscontract.produces", "syscontract._produces.produces"})
_CONTRACT = frozenset(
    {"syscontract.contract", "syscontract.formats.pydantic.contract", "syscontract.registry.code.contract"}
)
# guard class -> whether handler, contract, fields may be given by position (redis: keywords only)
_GUARDS = {
    "syscontract.integrations.nats.Guard": True,
    "syscontract.integrations.rabbitmq.Guard": True,
    "syscontract.integrations.rabbitmq.AsyncGuard": True,
    "syscontract.integrations.redis.StreamConsumer": False,
    "syscontract.integrations.redis.AsyncStreamConsumer": False,
}
# calls that look at the message without depending on any field of it
_HARMLESS = frozenset({"len", "isinstance", "issubclass", "type", "id", "bool", "hash", "callable", "print", "repr"})
_LOGGING = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
_COPIES = frozenset({"copy", "model_copy", "model_dump", "dict", "to_dict"})
_WHOLE = frozenset({"keys", "values", "items", "model_dump_json", "json", "__iter__"})
_MUTATORS = frozenset({"update", "clear", "popitem", "__setitem__", "__delitem__"})
_TRY = tuple(getattr(ast, name) for name in ("Try", "TryStar") if hasattr(ast, name))
_CAUGHT = frozenset({"KeyError", "AttributeError", "LookupError", "Exception", "BaseException", "TypeError"})


@dataclass
class Read:
    """One place a field is read. ``how``: ``direct``, ``fallback``, ``presence``; ``soft`` while a
    ``.get(k)`` waits to be told what its None means."""

    path: str
    how: str
    file: str
    line: int
    code: str
    parent: Read | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Opaque:
    """A use of the message (or of the part at ``path``) that the analysis cannot follow."""

    path: str
    what: str
    file: str
    line: int


@dataclass
class Declared:
    """A handler found in the source: where, its contract, what it declares, and what it reads."""

    module: str
    qualname: str
    file: str
    line: int
    role: str  # "consumer" (analysed) or "producer" (listed)
    contract: str | None
    fields: list[str] | None  # None: not a literal the analysis can read
    decorator: str  # the source of the declaration's callee, ``requires`` or ``syscontract.requires``
    call: ast.Call | None = None
    fields_position: int | None = 1  # where the declaration's call takes ``fields`` by position
    guard: str | None = None  # the guard class a subscription hands the handler to
    node: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    message: str | None = None
    reads: list[Read] = field(default_factory=list)
    opaque: list[Opaque] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``module.qualname``: what ``f"{fn.__module__}.{fn.__qualname__}"`` gives at run time."""
        return f"{self.module}.{self.qualname}"


@dataclass
class Module:
    """One parsed file: its import names, its functions by qualified name, its model contracts."""

    name: str
    file: str
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    methods: dict[str, str] = field(default_factory=dict)  # qualname -> its class's qualname
    statics: set[str] = field(default_factory=set)
    constants: dict[str, ast.expr] = field(default_factory=dict)


# -- reading the files ----------------------------------------------------------------------------


def source_files(paths: Sequence[str]) -> list[tuple[Path, str]]:
    """Every ``.py`` file under ``paths`` (files as given), sorted, with the name to show for it.

    Hidden directories, virtual environments and build output are skipped; links to directories are
    not followed (no cycles)."""
    found: dict[Path, str] = {}
    for given in paths:
        path = Path(given)
        if path.is_file():
            found.setdefault(path.resolve(), str(path))
            continue
        if not path.is_dir():
            raise ContractDeclarationError(f"{given}: no such file or directory", reason="bad-source")
        for folder, dirs, files in os.walk(path, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
            for name in sorted(files):
                if name.endswith(".py"):
                    file = Path(folder) / name
                    found.setdefault(file.resolve(), str(file))
    return sorted(found.items(), key=lambda item: item[1])


def parse(path: Path, shown: str) -> ast.Module:
    """Parse one file; anything that stops it is one :class:`ContractDeclarationError` naming the file."""

    def refuse(why: str) -> ContractDeclarationError:
        return ContractDeclarationError(f"{shown}: cannot lint: {why}", reason="bad-source")

    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise refuse(f"{size} bytes, more than the {MAX_SOURCE_BYTES} a source file may have")
        data = path.read_bytes()
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from exc
    if len(data) > MAX_SOURCE_BYTES:  # it grew since stat()
        raise refuse(f"more than the {MAX_SOURCE_BYTES} bytes a source file may have")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise refuse(f"not a source file Python can decode ({_one_line(exc)})") from exc
    try:
        return ast.parse(text, filename=shown)
    except SyntaxError as exc:
        raise refuse(f"line {exc.lineno}: {exc.msg}" if exc.lineno else exc.msg) from exc
    except (RecursionError, MemoryError) as exc:
        raise refuse("nested too deeply for the parser") from exc
    except ValueError as exc:  # null bytes
        raise refuse(_one_line(exc)) from exc


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def load_modules(paths: Sequence[str]) -> list[Module]:
    """Parse every file under ``paths`` and index its names."""
    modules = []
    for path, shown in source_files(paths):
        module = Module(module_name(path), shown, parse(path, shown))
        try:
            _index(module)
        except RecursionError as exc:
            raise ContractDeclarationError(
                f"{shown}: cannot lint: nested too deeply to analyse", reason="bad-source"
            ) from exc
        modules.append(module)
    return modules


def _index(module: Module) -> None:
    package = module.name if Path(module.file).name == "__init__.py" else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    module.imports[alias.asname] = alias.name
                else:
                    top = alias.name.partition(".")[0]
                    module.imports[top] = top
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                module.imports[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
    for statement in module.tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                module.constants[target.id] = statement.value
    _index_scope(module, module.tree.body, "", None)


def _index_scope(module: Module, body: list[ast.stmt], prefix: str, owner: str | None) -> None:
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            qualname = prefix + node.name
            module.functions[qualname] = node
            if owner is not None:
                module.methods[qualname] = owner
                if any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list):
                    module.statics.add(qualname)
            _index_scope(module, node.body, qualname + ".<locals>.", None)
        elif isinstance(node, ast.ClassDef):
            _index_scope(module, node.body, prefix + node.name + ".", prefix + node.name)
        elif isinstance(node, ast.If | ast.Try | ast.With):  # defs under `if TYPE_CHECKING`, try/except
            for part in (getattr(node, "body", []), getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                _index_scope(module, part, prefix, owner)
            for handler in getattr(node, "handlers", []):
                _index_scope(module, handler.body, prefix, owner)


def qualify(node: ast.expr, module: Module) -> str | None:
    """The dotted name an expression refers to through the module's imports (``r`` -> ``syscontract.requires``)."""
    if isinstance(node, ast.Name):
        if node.id in module.imports:
            return module.imports[node.id]
        if node.id in module.functions:
            return f"{module.name}.{node.id}"
        return None
    if isinstance(node, ast.Attribute):
        base = qualify(node.value, module)
        return f"{base}.{node.attr}" if base else None
    return None


# -- finding the handlers -------------------------------------------------------------------------


def discover(module: Module) -> list[Declared]:
    """Every handler the module declares: decorated functions and methods, and guard subscriptions."""
    found: list[Declared] = []
    for qualname, node in module.functions.items():
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call):
                continue
            target = qualify(decorator.func, module)
            if target in _REQUIRES or target in _PRODUCES:
                role = "consumer" if target in _REQUIRES else "producer"
                contract = _argument(decorator, 0, "contract")
                fields = _argument(decorator, 1, "fields")
                message = _argument(decorator, None, "message")
                handler = Declared(
                    module=module.name,
                    qualname=qualname,
                    file=module.file,
                    line=node.lineno,
                    role=role,
                    contract=_literal_str(contract, module),
                    fields=_literal_fields(fields, module) if fields is not None else [],
                    decorator=ast.unparse(decorator.func),
                    call=decorator,
                    node=node,
                )
                handler.message = (
                    _literal_str(message, module) if message is not None else _first_parameter(module, qualname, node)
                )
                found.append(handler)
    for call in ast.walk(module.tree):
        if isinstance(call, ast.Call):
            target = qualify(call.func, module)
            if target in _GUARDS:
                guarded = _guarded(module, call, _GUARDS[target])
                if guarded is not None:
                    found.append(guarded)
    return found


def _guarded(module: Module, call: ast.Call, positional: bool) -> Declared | None:
    handler = _argument(call, 0 if positional else None, "handler")
    contract = _literal_str(_argument(call, 1 if positional else None, "contract"), module)
    if handler is None or contract is None:
        return None
    qualname: str | None = None
    if isinstance(handler, ast.Name) and handler.id in module.functions:
        qualname = handler.id
    elif isinstance(handler, ast.Attribute) and isinstance(handler.value, ast.Name):
        candidates = [q for q in module.methods if q.endswith("." + handler.attr)]
        qualname = candidates[0] if len(candidates) == 1 else None
    if qualname is None:
        return None
    node = module.functions[qualname]
    fields = _argument(call, 2 if positional else None, "fields")
    declared = Declared(
        module=module.name,
        qualname=qualname,
        file=module.file,
        line=node.lineno,
        role="consumer",
        contract=contract,
        fields=_literal_fields(fields, module) if fields is not None else [],
        decorator=ast.unparse(call.func),
        call=call,
        fields_position=2 if positional else None,
        guard=qualify(call.func, module),
        node=node,
    )
    declared.message = _first_parameter(module, qualname, node)
    return declared


def _argument(call: ast.Call, position: int | None, keyword: str) -> ast.expr | None:
    for given in call.keywords:
        if given.arg == keyword:
            return given.value
    if (
        position is not None
        and position < len(call.args)
        and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1])
    ):
        return call.args[position]
    return None


def _literal_str(node: ast.expr | None, module: Module) -> str | None:
    if isinstance(node, ast.Name) and node.id in module.constants:
        node = module.constants[node.id]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _literal_fields(node: ast.expr, module: Module) -> list[str] | None:
    if isinstance(node, ast.Name) and node.id in module.constants:
        node = module.constants[node.id]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        values = [_literal_str(e, module) for e in node.elts]
        if all(v is not None for v in values):
            return [v for v in values if v is not None]
    return None


def _first_parameter(module: Module, qualname: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    parameters = [*node.args.posonlyargs, *node.args.args]
    skip = 1 if qualname in module.methods and qualname not in module.statics else 0
    return parameters[skip].arg if len(parameters) > skip else None


def model_defaults(module: Module) -> dict[str, set[str]]:
    """``{contract: fields with a default}`` of the pydantic models the module registers with
    ``@syscontract.contract("order.v3")``: what pydantic fills when the writer left the field out."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and qualify(decorator.func, module) in _CONTRACT:
                ref = _literal_str(_argument(decorator, 0, "ref"), module)
                if ref is not None:
                    found.setdefault(ref, set()).update(_defaulted(node))
    return found


def _defaulted(model: ast.ClassDef) -> Iterator[str]:
    for statement in model.body:
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        value = statement.value
        if value is None:
            continue
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name | ast.Attribute):
            name = value.func.id if isinstance(value.func, ast.Name) else value.func.attr
            if name == "Field":
                first = value.args[0] if value.args else None
                keywords = {k.arg for k in value.keywords}
                if not ("default" in keywords or "default_factory" in keywords) and (
                    first is None or (isinstance(first, ast.Constant) and first.value is Ellipsis)
                ):
                    continue
        yield statement.target.id


# -- following the message ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Msg:
    """A value that is the message, or the part of it at ``path``; ``read`` is the step that gave it."""

    path: str
    read: Read | None = None
    shadowed: frozenset[str] = frozenset()  # {**e, "k": v}: keys the code put over the message's own


@dataclass(frozen=True)
class _Pair:
    """What ``enumerate``/``zip`` over message arrays yield: a tuple whose items may be message parts."""

    items: tuple[_Msg | None, ...]


_Value = _Msg | _Pair | None
_Atom = tuple[Read, bool, str | None]


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def analyse(
    handler: Declared, modules: Sequence[Module], structured: Callable[[str], bool] = lambda path: False
) -> None:
    """Fill ``handler.reads`` and ``handler.opaque`` from its message parameter."""
    if handler.node is None or handler.message is None:
        return
    module = next(m for m in modules if m.file == handler.file)
    walker = _Walker(modules, handler, structured)
    walker.function(module, handler.qualname, handler.node, {handler.message: _Msg("")}, 0)
    for read in handler.reads:
        if read.how == "soft":
            read.how = "fallback"  # nobody tested the None .get(k) gave: it stood in for the field
    for read in handler.reads:
        if read.how == "direct" and _through_fallback(read):
            read.how = "fallback"  # e.get("items", []) then it["price"]: no items, no price, no error


def _through_fallback(read: Read) -> bool:
    parent = read.parent
    while parent is not None:
        if parent.how == "fallback":
            return True
        parent = parent.parent
    return False


class _Walker:
    def __init__(self, modules: Sequence[Module], handler: Declared, structured: Callable[[str], bool]) -> None:
        self.modules: dict[str, list[Module]] = {}
        for module in modules:
            self.modules.setdefault(module.name, []).append(module)
        self.handler = handler
        self.structured = structured
        self.stack: list[tuple[int, tuple[str, ...]]] = []
        self.module: Module = next(m for m in modules if m.file == handler.file)
        self.qualname = handler.qualname
        self.returned: _Msg | None = None
        self.depth = 0

    # - functions -

    def function(
        self,
        module: Module,
        qualname: str,
        node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
        env: dict[str, _Value],
        depth: int,
    ) -> _Msg | None:
        saved = (self.module, self.qualname, self.returned, self.depth)
        self.module, self.qualname, self.returned, self.depth = module, qualname, None, depth
        try:
            if isinstance(node, ast.Lambda):
                value = self.expr(node.body, env)
                return value if isinstance(value, _Msg) else None
            self.block(node.body, env)
            return self.returned
        finally:
            self.module, self.qualname, self.returned, self.depth = saved

    def call_into(
        self, module: Module, qualname: str, call: ast.Call, arguments: list[_Value], env: dict[str, _Value]
    ) -> _Msg | None:
        node = module.functions[qualname]
        depth = self.depth
        parameters = [*node.args.posonlyargs, *node.args.args]
        bound_self = (
            qualname in module.methods and qualname not in module.statics and isinstance(call.func, ast.Attribute)
        )
        if bound_self:
            parameters = parameters[1:]
        bindings: dict[str, _Value] = {}
        for parameter, value in zip(parameters, arguments, strict=False):
            bindings[parameter.arg] = value
        for given in call.keywords:
            if given.arg is not None:
                bindings[given.arg] = self.expr(given.value, env)
        spread = [self.expr(k.value, env) for k in call.keywords if k.arg is None]
        every = [*parameters, *node.args.kwonlyargs]
        defaults = dict(zip([p.arg for p in parameters][::-1], node.args.defaults[::-1], strict=False))
        defaults.update({p.arg: d for p, d in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True) if d})
        for source in spread:
            if not isinstance(source, _Msg):
                continue
            for parameter in every[len(arguments) :]:
                if parameter.arg in bindings:
                    continue
                how = "fallback" if parameter.arg in defaults else "direct"
                path = join(source.path, parameter.arg)
                bindings[parameter.arg] = _Msg(path, self.read(path, how, call))
            if node.args.kwarg is not None:
                bindings[node.args.kwarg.arg] = _Msg(source.path)
        key = (id(node), tuple(sorted(f"{k}={v.path}" for k, v in bindings.items() if isinstance(v, _Msg))))
        if not any(isinstance(v, _Msg | _Pair) for v in bindings.values()) or key in self.stack:
            return None
        if depth >= CALL_DEPTH:
            self.opaque(bindings, f"passed to {qualname}(), more than {CALL_DEPTH} calls deep", call)
            return None
        env_in: dict[str, _Value] = {k: v for k, v in bindings.items() if v is not None}
        self.stack.append(key)
        try:
            return self.function(module, qualname, node, env_in, depth + 1)
        finally:
            self.stack.pop()

    # - statements -

    def block(self, body: list[ast.stmt], env: dict[str, _Value]) -> None:
        for statement in body:
            self.statement(statement, env)

    def statement(self, node: ast.stmt, env: dict[str, _Value]) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for expression in [*node.decorator_list, *node.args.defaults]:
                self.expr(expression, env)
            shadowed = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
            self.block(node.body, {k: v for k, v in env.items() if k not in shadowed})
            env.pop(node.name, None)
        elif isinstance(node, ast.ClassDef):
            env.pop(node.name, None)
        elif isinstance(node, ast.Assign):
            value = self.expr(node.value, env)
            for target in node.targets:
                self.bind(target, value, env)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.bind(node.target, self.expr(node.value, env), env)
        elif isinstance(node, ast.AugAssign):
            self.expr(node.value, env)
            if isinstance(node.target, ast.Name):
                env.pop(node.target.id, None)
        elif isinstance(node, ast.For | ast.AsyncFor):
            self.bind(node.target, self.element(self.expr(node.iter, env), node.iter), env)
            self.block(node.body, env)
            self.block(node.orelse, env)
        elif isinstance(node, ast.While | ast.If):
            self.test(node.test, node.body, node.orelse, env)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                value = self.expr(item.context_expr, env)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, value, env)
            self.block(node.body, env)
        elif isinstance(node, _TRY):
            self.attempt(node, env)
        elif isinstance(node, ast.Match):
            self.match(node, env)
        elif isinstance(node, ast.Return):
            if node.value is not None:
                value = self.expr(node.value, env)
                if isinstance(value, _Msg) and self.returned is None:
                    self.returned = value
        elif isinstance(node, ast.Delete):
            return
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child, env)

    def bind(self, target: ast.expr, value: _Value, env: dict[str, _Value]) -> None:
        if isinstance(target, ast.Name):
            if value is None:
                env.pop(target.id, None)
            else:
                env[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            items: tuple[_Msg | None, ...] = value.items if isinstance(value, _Pair) else ()
            for index, element in enumerate(target.elts):
                self.bind(element, items[index] if index < len(items) else None, env)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, None, env)
        elif isinstance(target, ast.Subscript | ast.Attribute):
            for child in ast.iter_child_nodes(target):
                if isinstance(child, ast.expr) and not isinstance(child, ast.expr_context):
                    if isinstance(target, ast.Subscript) and child is target.value:
                        continue  # e["k"] = v writes the message, it does not read it
                    self.expr(child, env)

    def element(self, value: _Value, where: ast.AST) -> _Value:
        if isinstance(value, _Pair):
            return value  # enumerate()/zip() of message arrays: each turn gives the pair
        if isinstance(value, _Msg):
            if value.path == "":
                self.opaque_one(value, "every key iterated over", where)
                return None
            if value.read is not None and value.read.how == "soft":
                value.read.how = "direct"
            return _Msg(value.path + "[]", value.read)
        return None

    def test(self, test: ast.expr, body: list[ast.stmt], orelse: list[ast.stmt], env: dict[str, _Value]) -> None:
        atoms = self.atoms(test, env)
        for read, absent_when_true, name in atoms:
            absent, present = (body, orelse) if absent_when_true else (orelse, body)
            if _raises(absent):
                read.how = "direct"  # a missing field is loud: the handler depends on it
            elif _fills(absent, present, read, name):
                read.how = "fallback"
            elif read.how in ("soft", "presence"):
                read.how = "presence"
        start = len(self.handler.reads)
        self.block(body, env)
        middle = len(self.handler.reads)
        self.block(orelse, env)
        for read, absent_when_true, _ in atoms:
            if read.how != "presence":
                continue
            inside = self.handler.reads[middle:] if absent_when_true else self.handler.reads[start:middle]
            for other in inside:  # read only when present: optional to the handler, not a dependency
                if other.how == "direct" and (other.path == read.path or other.path.startswith(read.path + ".")):
                    other.how = "presence"

    def atoms(self, test: ast.expr, env: dict[str, _Value]) -> list[_Atom]:
        """The presence tests in ``test``: the read each tests, whether the test is true when the field
        is absent, and the local name tested (if one was)."""
        if isinstance(test, ast.BoolOp):
            return [atom for value in test.values for atom in self.atoms(value, env)]
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return [(read, not absent, name) for read, absent, name in self.atoms(test.operand, env)]
        if isinstance(test, ast.Compare):
            found = self.compared(test, env)
            if found is None:
                for operand in [test.left, *test.comparators]:
                    self.expr(operand, env)
                return []
            return found
        if (
            isinstance(test, ast.Call)
            and isinstance(test.func, ast.Name)
            and test.func.id == "hasattr"
            and len(test.args) == 2
            and isinstance(test.args[1], ast.Constant)
            and isinstance(test.args[1].value, str)
        ):
            value = self.expr(test.args[0], env)
            if isinstance(value, _Msg):
                return [(self.read(join(value.path, test.args[1].value), "presence", test), False, None)]
            return []
        value = self.expr(test, env)
        if isinstance(value, _Msg) and value.read is not None and value.read.how == "soft":
            value.read.how = "presence"
            return [(value.read, False, test.id if isinstance(test, ast.Name) else None)]
        return []

    def compared(self, test: ast.Compare, env: dict[str, _Value]) -> list[_Atom] | None:
        """The presence test a comparison is (``"k" in e``, ``x is None``), or None when it is none."""
        if len(test.ops) != 1:
            return None
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if isinstance(op, ast.In | ast.NotIn) and isinstance(left, ast.Constant) and isinstance(left.value, str):
            container = self.expr(right, env)
            if isinstance(container, _Msg) and (container.path == "" or not container.path.endswith("[]")):
                path = join(container.path, left.value)
                return [(self.read(path, "presence", test), isinstance(op, ast.NotIn), None)]
            return []
        if isinstance(op, ast.Is | ast.IsNot | ast.Eq | ast.NotEq) and _is_none(right):
            value = self.expr(left, env)
            if isinstance(value, _Msg) and value.read is not None:
                if value.read.how == "soft":
                    value.read.how = "presence"
                name = left.id if isinstance(left, ast.Name) else None
                return [(value.read, isinstance(op, ast.Is | ast.Eq), name)]
            return []
        return None

    def attempt(self, node: ast.Try, env: dict[str, _Value]) -> None:
        start = len(self.handler.reads)
        self.block(node.body, env)
        swallowed = any(
            not _raises(h.body) and (h.type is None or bool(_names(h.type) & _CAUGHT)) for h in node.handlers
        )
        if swallowed:
            for read in self.handler.reads[start:]:
                if read.how == "direct":
                    read.how = "fallback"
        for handler in node.handlers:
            if handler.name:
                env.pop(handler.name, None)
            self.block(handler.body, env)
        self.block(node.orelse, env)
        self.block(node.finalbody, env)

    def match(self, node: ast.Match, env: dict[str, _Value]) -> None:
        subject = self.expr(node.subject, env)
        pending: list[Read] = []
        for case in node.cases:
            reads: list[Read] = []
            if isinstance(subject, _Msg):
                self.pattern(case.pattern, subject, env, reads)
            if case.guard is not None:
                self.expr(case.guard, env)
            if _catches_all(case.pattern) and pending:
                how = "direct" if _raises(case.body) else "fallback"
                for read in pending:
                    read.how = how
                pending = []
            pending.extend(reads)
            self.block(case.body, env)
        for read in pending:
            read.how = "presence"  # no case for messages without it: they are skipped without a word

    def pattern(self, pattern: ast.pattern, subject: _Msg, env: dict[str, _Value], reads: list[Read]) -> None:
        if isinstance(pattern, ast.MatchMapping):
            for key, inner in zip(pattern.keys, pattern.patterns, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    read = self.read(join(subject.path, key.value), "pattern", pattern)
                    reads.append(read)
                    self.pattern(inner, _Msg(read.path, read), env, reads)
            if pattern.rest:
                env[pattern.rest] = _Msg(subject.path)
        elif isinstance(pattern, ast.MatchClass):
            for attr, inner in zip(pattern.kwd_attrs, pattern.kwd_patterns, strict=True):
                read = self.read(join(subject.path, attr), "pattern", inner)
                reads.append(read)
                self.pattern(inner, _Msg(read.path, read), env, reads)
        elif isinstance(pattern, ast.MatchAs):
            if pattern.pattern is not None:
                self.pattern(pattern.pattern, subject, env, reads)
            if pattern.name:
                env[pattern.name] = subject
        elif isinstance(pattern, ast.MatchOr):
            for alternative in pattern.patterns:
                self.pattern(alternative, subject, env, reads)
        elif isinstance(pattern, ast.MatchSequence) and subject.path:
            for inner in pattern.patterns:
                self.pattern(inner, _Msg(subject.path + "[]"), env, reads)

    # - expressions -

    def expr(self, node: ast.expr, env: dict[str, _Value]) -> _Value:
        if isinstance(node, ast.Name):
            return env.get(node.id)
        if isinstance(node, ast.Subscript):
            return self.subscript(node, env)
        if isinstance(node, ast.Attribute):
            base = self.expr(node.value, env)
            if isinstance(base, _Msg) and not node.attr.startswith(("_", "model_")):
                return self.step(base, node.attr, "direct", node)
            return None
        if isinstance(node, ast.Call):
            return self.call(node, env)
        if isinstance(node, ast.BoolOp):
            values = [self.expr(v, env) for v in node.values]
            if isinstance(node.op, ast.Or):
                for value in values[:-1]:
                    if isinstance(value, _Msg) and value.read is not None:
                        value.read.how = "fallback"
                return next((v for v in values if isinstance(v, _Msg)), None)
            return values[-1]
        if isinstance(node, ast.IfExp):
            for read, _, _ in self.atoms(node.test, env):
                read.how = "fallback"  # x if "k" in e else d: the conditional default
            body, orelse = self.expr(node.body, env), self.expr(node.orelse, env)
            return body if body is not None else orelse
        if isinstance(node, ast.Compare):
            if self.compared(node, env) is None:
                for operand in [node.left, *node.comparators]:
                    self.expr(operand, env)
            return None
        if isinstance(node, ast.Dict):
            merged: _Msg | None = None
            for index, (key, item) in enumerate(zip(node.keys, node.values, strict=True)):
                result = self.expr(item, env)
                if key is None and isinstance(result, _Msg):
                    underneath = index > 0 and merged is None  # {**DEFAULTS, **e}: defaults under the message
                    where = self.module.file, node.lineno, ast.unparse(node)[:80]
                    merged = _Msg(result.path, Read(result.path, "fallback", *where) if underneath else result.read)
                elif key is not None:
                    self.expr(key, env)
                    literal = self.key(key)
                    if merged is not None and literal is not None:
                        merged = _Msg(merged.path, merged.read, merged.shadowed | {literal})
            return merged
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            inner = dict(env)
            for generator in node.generators:
                self.bind(generator.target, self.element(self.expr(generator.iter, inner), generator.iter), inner)
                for condition in generator.ifs:
                    self.test(condition, [], [], inner)
            if isinstance(node, ast.DictComp):
                self.expr(node.key, inner)
                self.expr(node.value, inner)
            else:
                self.expr(node.elt, inner)
            return None
        if isinstance(node, ast.Lambda):
            shadowed = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
            self.expr(node.body, {k: v for k, v in env.items() if k not in shadowed})
            return None
        if isinstance(node, ast.NamedExpr):
            value = self.expr(node.value, env)
            self.bind(node.target, value, env)
            return value
        if isinstance(node, ast.Await | ast.Starred):
            return self.expr(node.value, env)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child, env)
        return None

    def subscript(self, node: ast.Subscript, env: dict[str, _Value]) -> _Value:
        base = self.expr(node.value, env)
        key = node.slice
        if not isinstance(base, _Msg):
            self.expr(key, env)
            return None
        literal = self.key(key)
        if literal is not None:
            return self.step(base, literal, "direct", node)
        if base.read is not None and base.read.how == "soft":
            base.read.how = "direct"
        if isinstance(key, ast.Slice):
            return _Msg(base.path, base.read)
        if _is_index(key) and base.path:
            return _Msg(base.path + "[]", base.read)
        self.expr(key, env)
        self.opaque_one(base, f"read with a key computed at run time ({ast.unparse(node)[:60]})", node)
        return None

    def key(self, node: ast.expr) -> str | None:
        """A key known before run time: a string literal, or a module constant holding one."""
        if isinstance(node, ast.Name) and node.id in self.module.constants:
            node = self.module.constants[node.id]
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

    def step(self, base: _Msg, key: str, how: str, node: ast.AST) -> _Msg | None:
        if key in base.shadowed:
            return None  # {**e, "k": v}["k"] is the code's own value
        if base.read is not None and base.read.how == "soft":
            base.read.how = "direct"  # e.get("a")["b"]: a missing "a" fails loudly
        path = join(base.path, key)
        read = self.read(path, how, node)
        read.parent = base.read
        return _Msg(path, read)

    def call(self, node: ast.Call, env: dict[str, _Value]) -> _Value:
        func = node.func
        if isinstance(func, ast.Attribute):
            base = self.expr(func.value, env)
            if isinstance(base, _Msg):
                return self.method(base, func.attr, node, env)
            if func.attr in _LOGGING:
                for argument in node.args:
                    self.expr(argument, env)
                return None
        if not isinstance(func, ast.Name | ast.Attribute):
            self.expr(func, env)
        name = func.id if isinstance(func, ast.Name) and func.id not in env else None
        arguments = [self.expr(a, env) for a in node.args]
        if name == "getattr" and len(node.args) >= 2 and isinstance(arguments[0], _Msg):
            key = node.args[1]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                how = "direct" if len(node.args) == 2 else "soft" if _is_none(node.args[2]) else "fallback"
                return self.step(arguments[0], key.value, how, node)
        if name == "hasattr" and len(node.args) == 2 and isinstance(arguments[0], _Msg):
            key = node.args[1]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                self.read(join(arguments[0].path, key.value), "presence", node)
                return None
        if name in _HARMLESS or name == "str":
            return None
        if name in ("sorted", "min", "max", "filter", "map"):  # a lambda applied to each element
            functions = [k.value for k in node.keywords if k.arg == "key"] + node.args[:1]
            over = arguments[0] if name in ("sorted", "min", "max") else arguments[1] if len(arguments) > 1 else None
            for function in functions:
                if isinstance(function, ast.Lambda) and function.args.args and isinstance(over, _Msg) and over.path:
                    inner = {k: v for k, v in env.items() if k != function.args.args[0].arg}
                    inner[function.args.args[0].arg] = self.element(over, node)
                    self.expr(function.body, inner)
        if name in ("enumerate", "zip", "reversed", "sorted", "list", "tuple", "iter"):
            if name == "enumerate" and arguments and isinstance(arguments[0], _Msg) and arguments[0].path:
                item = self.element(arguments[0], node)
                return _Pair((None, item if isinstance(item, _Msg) else None))
            if name == "zip" and any(isinstance(a, _Msg) for a in arguments):
                items = tuple(self.element(a, node) if isinstance(a, _Msg) else None for a in arguments)
                return _Pair(tuple(i if isinstance(i, _Msg) else None for i in items))
            if arguments and isinstance(arguments[0], _Msg):
                if arguments[0].path:
                    return _Msg(arguments[0].path)
                self.opaque_one(arguments[0], f"every key iterated over by {name}()", node)
            return None
        target = qualify(func, self.module) if not isinstance(func, ast.Attribute) or _plain(func) else None
        copied = name == "dict" or target in ("copy.copy", "copy.deepcopy")
        if copied and len(node.args) == 1 and isinstance(arguments[0], _Msg):
            return _Msg(arguments[0].path, arguments[0].read)
        callee = self.callee(func)
        if callee is not None:
            return self.call_into(callee[0], callee[1], node, arguments, env)
        for given in node.keywords:
            value = self.expr(given.value, env)
            if isinstance(value, _Msg) and given.arg is None:
                self.opaque_one(value, f"unpacked into {ast.unparse(func)[:40]}(**...)", node)
            elif isinstance(value, _Msg):
                arguments.append(value)
        for value in arguments:
            if isinstance(value, _Msg) and (value.path == "" or self.structured(value.path)):
                self.opaque_one(value, f"passed to {ast.unparse(func)[:40]}(), outside the scanned files", node)
        return None

    def method(self, base: _Msg, name: str, node: ast.Call, env: dict[str, _Value]) -> _Value:
        arguments = node.args
        for argument in arguments[1:]:
            self.expr(argument, env)
        key = arguments[0] if arguments else None
        literal = self.key(key) if key is not None else None
        if name in ("get", "setdefault", "pop") and key is not None:
            if literal is None:
                self.expr(key, env)
                self.opaque_one(base, f".{name}() with a key computed at run time", node)
                return None
            default = arguments[1] if len(arguments) > 1 else None
            if name == "get":
                how = "soft" if default is None or _is_none(default) else "fallback"
            else:
                how = "direct" if default is None and name == "pop" else "fallback"
            return self.step(base, literal, how, node)
        for argument in arguments[:1]:
            self.expr(argument, env)
        if name in _COPIES:
            return _Msg(base.path)
        if name in _MUTATORS:
            return None
        if name in _WHOLE:
            self.opaque_one(base, f"every key read through .{name}()", node)
        elif base.path == "" or self.structured(base.path):
            self.opaque_one(base, f"a method called on it: .{name}()", node)
        return None  # a method of a value (e["tier"].upper()): the read is noted already

    def callee(self, func: ast.expr) -> tuple[Module, str] | None:
        """A function of the scanned files that ``func`` names, and its module."""
        module = self.module
        if isinstance(func, ast.Name):
            scope = self.qualname.rpartition(".")[0] if "." in self.qualname else ""
            for qualname in (f"{self.qualname}.<locals>.{func.id}", f"{scope}.{func.id}" if scope else "", func.id):
                if qualname and qualname in module.functions and qualname not in module.methods:
                    return module, qualname
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
            and self.qualname in module.methods
        ):
            qualname = f"{module.methods[self.qualname]}.{func.attr}"
            if qualname in module.functions:
                return module, qualname
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            qualname = f"{func.value.id}.{func.attr}"  # Tiers.of(e): a static or class method of the module
            if qualname in module.functions and qualname in module.methods:
                return module, qualname
        target = qualify(func, module) if not isinstance(func, ast.Attribute) or _plain(func) else None
        if target:
            owner, _, name = target.rpartition(".")
            found = self.imported(owner)
            if found is not None and name in found.functions:
                return found, name
        return None

    def imported(self, name: str) -> Module | None:
        """The scanned module ``name`` imports; of two with that name (two ``run.py`` in two
        example directories), the one nearest the importing file."""
        candidates = self.modules.get(name, [])
        if len(candidates) < 2:
            return candidates[0] if candidates else None
        here = Path(self.module.file).resolve().parent.parts

        def shared(module: Module) -> int:
            there = Path(module.file).resolve().parent.parts
            return next((i for i, (a, b) in enumerate(zip(here, there, strict=False)) if a != b), len(there))

        return max(candidates, key=shared)

    # - what is noted -

    def read(self, path: str, how: str, node: ast.AST) -> Read:
        read = Read(path, how, self.module.file, getattr(node, "lineno", 0), ast.unparse(node)[:80])
        self.handler.reads.append(read)
        return read

    def opaque_one(self, value: _Msg, what: str, node: ast.AST) -> None:
        self.handler.opaque.append(Opaque(value.path, what, self.module.file, getattr(node, "lineno", 0)))

    def opaque(self, bindings: dict[str, _Value], what: str, node: ast.AST) -> None:
        for value in bindings.values():
            if isinstance(value, _Msg):
                self.opaque_one(value, what, node)


def _plain(node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id not in ("self", "cls")


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_index(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool)


def _names(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Tuple):
        return {n for e in node.elts for n in _names(e)}
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Attribute):
        return {node.attr}
    return set()


def _raises(body: list[ast.stmt]) -> bool:
    return any(isinstance(s, ast.Raise) for s in body)


def _fills(absent: list[stmt], present: list[stmt], read: Read, name: str | None) -> bool:
    """Does what runs when the field is absent put a value in its place: the key itself
    (``e["k"] = d``), the local name tested, or a name the other branch sets (a default assigned before
    the test counts as an empty absent branch)?"""
    key = read.path.rpartition(".")[2]
    set_when_absent = _assigned(absent)
    if key in set_when_absent or (name is not None and name in set_when_absent):
        return True
    set_when_present = _assigned(present) - {key}
    return bool(set_when_present) and (not absent or bool(set_when_present & set_when_absent))


def _assigned(body: list[stmt]) -> set[str]:
    """The local names and literal keys ``body`` assigns."""
    found: set[str] = set()
    for statement in body:
        for node in ast.walk(statement):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    found.add(target.id)
                elif isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
                    found.add(str(target.slice.value))
    return found


def _catches_all(pattern: ast.pattern) -> bool:
    if isinstance(pattern, ast.MatchAs):
        return pattern.pattern is None or _catches_all(pattern.pattern)
    if isinstance(pattern, ast.MatchMapping):
        return not pattern.keys
    if isinstance(pattern, ast.MatchOr):
        return any(_catches_all(p) for p in pattern.patterns)
    return False
