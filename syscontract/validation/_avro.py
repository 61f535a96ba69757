"""Avro schemas compiled into a validator module, for payloads as fastavro or ``json.loads`` give them.

What a valid datum is, per type:

* ``null`` None; ``boolean`` a bool; ``int``/``long`` an integral number that is not a bool, within 32 /
  64 bits; ``float``/``double`` a real number that is not a bool; ``string`` a str.
* ``bytes`` bytes or bytearray, or a str of code points 0-255 (Avro's JSON encoding); ``fixed`` the
  same, of exactly ``size``.
* ``enum`` one of the symbols; ``array`` a list or tuple of valid items; ``map`` a mapping with str
  keys and valid values.
* ``record`` a mapping in which every field without a default is present (a decoded Avro record
  always has all of them) and every present field is valid; keys the schema does not name are
  allowed, as Avro schema resolution ignores a writer's extra fields.
* a union: any branch. A named type is checked where it is defined and wherever its name is used;
  recursive types call a function per named type.
* logical types, on their own base type only (elsewhere the base type decides, as specified):
  ``decimal`` a finite Decimal within ``precision`` and ``scale`` (and the fixed size), or the raw
  bytes; ``uuid`` a UUID or its RFC 4122 text; ``date`` a date or an int; ``time-millis`` /
  ``time-micros`` a time or an int / long; ``timestamp-*`` and ``local-timestamp-*`` a datetime or a long.
  Unknown logical types are their base type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syscontract.errors import ContractDeclarationError
from syscontract.validation._codegen import GATE, MAX_DEPTH, MAX_LOOPS, OK, WALK, Engine, Function, Module, Path
from syscontract.validation._codegen import Context as _Context

__all__ = ["compile_avro"]

_INT = (-(2**31), 2**31 - 1)
_LONG = (-(2**63), 2**63 - 1)
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})
_KINDS = {
    "null": {"null"},
    "boolean": {"boolean"},
    "int": {"integer", "number"},
    "long": {"integer", "number"},
    "float": {"integer", "number"},
    "double": {"integer", "number"},
    "string": {"string"},
    "bytes": {"bytes", "string"},
    "fixed": {"bytes", "string"},
    "enum": {"string"},
    "record": {"object"},
    "error": {"object"},
    "map": {"object"},
    "array": {"array"},
}
_TIMESTAMPS = frozenset(
    {
        "timestamp-millis", "timestamp-micros", "timestamp-nanos", "local-timestamp-millis",
        "local-timestamp-micros", "local-timestamp-nanos",
    }
)  # fmt: skip


def compile_avro(ref: str, schema: Any, label: str) -> Engine:
    """The validator module for a (plain JSON, fully qualified) Avro schema."""
    return _Compiler(ref, schema, label).compile()


class _Compiler:
    def __init__(self, ref: str, schema: Any, label: str) -> None:
        self.ref = ref
        self.schema = schema
        self.module = Module(label)
        self.named: dict[str, Any] = {}
        self.memo: dict[tuple[str, str], str] = {}
        self.pending: list[tuple[Function, Any, str]] = []
        self.collect(schema, None)

    def refuse(self, detail: str) -> ContractDeclarationError:
        return ContractDeclarationError(
            f"cannot validate against this Avro schema: {detail}", contract=self.ref, reason="bad-schema"
        )

    def collect(self, schema: Any, namespace: str | None) -> None:
        """Every named type, by full name (the schema is fastavro's plain form: names are full)."""
        if isinstance(schema, list):
            for branch in schema:
                self.collect(branch, namespace)
            return
        if not isinstance(schema, Mapping):
            return
        kind = schema.get("type")
        if isinstance(kind, (Mapping, list)):
            self.collect(kind, namespace)
            return
        if kind in _NAMED:
            name = self.full_name(schema, namespace)
            self.named.setdefault(name, schema)
            namespace = name.rpartition(".")[0] or None
        if kind in ("record", "error"):
            for field in schema.get("fields", []):
                self.collect(field.get("type"), namespace)
        elif kind == "array":
            self.collect(schema.get("items"), namespace)
        elif kind == "map":
            self.collect(schema.get("values"), namespace)

    @staticmethod
    def full_name(schema: Mapping[str, Any], namespace: str | None) -> str:
        name = str(schema.get("name"))
        if "." in name:
            return name
        space = schema.get("namespace", namespace)
        return f"{space}.{name}" if space else name

    def lookup(self, name: str) -> tuple[Any, str]:
        if name in self.named:
            return self.named[name], name
        matches = [full for full in self.named if full.rpartition(".")[2] == name]
        if len(matches) == 1:
            return self.named[matches[0]], matches[0]
        raise self.refuse(f"type {name!r} is neither a primitive nor a named type defined in the schema")

    # -- driver ----------------------------------------------------------------------------------

    def compile(self) -> Engine:
        self.memo[("#", OK)] = "_sc_is_valid"
        self.memo[("#", WALK)] = "_sc_walk"
        self.pending.append((self.module.function("_sc_validate", GATE), self.schema, "#"))
        self.pending.append((self.module.function("_sc_is_valid", OK), self.schema, "#"))
        self.pending.append((self.module.function("_sc_walk", WALK), self.schema, "#"))
        while self.pending:
            function, schema, key = self.pending.pop(0)
            path = Path("_sc_p") if function.mode == WALK else Path("''")
            stack = (key,) if key != "#" else ()
            self.emit(function, schema, "x0", path, _Context(1, 0, stack), top=True)
        return self.module.build()

    def function(self, schema: Any, key: str, mode: str) -> str:
        memo_key = (key, mode)
        if memo_key not in self.memo:
            name = self.module.name(mode)
            self.memo[memo_key] = name
            self.pending.append((self.module.function(name, mode), schema, key))
        return self.memo[memo_key]

    # -- emitters --------------------------------------------------------------------------------

    def emit(self, fn: Function, schema: Any, v: str, path: Path, ctx: _Context, *, top: bool = False) -> None:
        d = ctx.depth
        if isinstance(schema, list):
            self.emit_union(fn, schema, v, path, ctx)
            return
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                self.emit_primitive(fn, schema, None, {}, v, path, d)
                return
            target, name = self.lookup(schema)
            self.emit_named(fn, target, name, v, path, ctx, top=top)
            return
        if not isinstance(schema, Mapping) or "type" not in schema:
            raise self.refuse(f"{schema!r} is not an Avro schema")
        kind = schema["type"]
        if isinstance(kind, (Mapping, list)):
            self.emit(fn, kind, v, path, ctx)
            return
        if kind in _NAMED:
            self.emit_named(fn, schema, self.full_name(schema, None), v, path, ctx, top=top)
        elif kind in _PRIMITIVES:
            self.emit_primitive(fn, kind, schema.get("logicalType"), schema, v, path, d)
        elif kind == "array":
            self.emit_array(fn, schema, v, path, ctx)
        elif kind == "map":
            self.emit_map(fn, schema, v, path, ctx)
        elif isinstance(kind, str):
            target, name = self.lookup(kind)
            self.emit_named(fn, target, name, v, path, ctx, top=top)
        else:
            raise self.refuse(f"{kind!r} is not an Avro type")

    def emit_named(
        self, fn: Function, schema: Mapping[str, Any], name: str, v: str, path: Path, ctx: _Context, *, top: bool
    ) -> None:
        kind = schema["type"]
        if kind == "enum":
            self.emit_enum(fn, schema, v, path, ctx.depth)
            return
        if kind == "fixed":
            self.emit_fixed(fn, schema, v, path, ctx.depth)
            return
        if not top and (name in ctx.stack or ctx.depth > MAX_DEPTH or ctx.loops > MAX_LOOPS):
            ok = None if fn.mode == WALK else self.function(schema, name, OK)
            walk = self.function(schema, name, WALK) if fn.mode == WALK else None
            fn.call(ctx.depth, ok, walk, v, path)
            return
        self.emit_record(fn, schema, name, v, path, _Context(ctx.depth, ctx.loops, (*ctx.stack, name)))

    def emit_record(
        self, fn: Function, schema: Mapping[str, Any], name: str, v: str, path: Path, ctx: _Context
    ) -> None:
        d = ctx.depth
        required = [f for f in schema.get("fields", []) if "default" not in f]
        if fn.mode == WALK:
            fn.add(d, f"if not (type({v}) is dict or isinstance({v}, _sc_Mapping)):")
            fn.fail(d + 1, path, "type", v, repr(f"record {name}"))
            fn.add(d, "else:")
            d += 1
            opened = fn.mark()
        else:
            fn.add(d, f"if type({v}) is not dict:")
            fn.add(d + 1, f"if not isinstance({v}, _sc_Mapping):")
            fn.fail(d + 2, path, "type", v, repr(f"record {name}"))
            if required:  # x[name] below: never ask a defaultdict for a key it lacks
                fn.add(d + 1, f"{v} = dict({v})")
        for field in schema.get("fields", []):
            field_name = field["name"]
            y = fn.var()
            field_path = path.key(field_name)
            if "default" not in field and fn.mode != WALK:
                fn.add(d, f"{y} = {v}[{field_name!r}]")
                self.emit(fn, field["type"], y, field_path, ctx.at(d))
                continue
            fn.add(d, f"if {field_name!r} in {v}:")
            fn.add(d + 1, f"{y} = {v}[{field_name!r}]")
            self.emit(fn, field["type"], y, field_path, ctx.at(d + 1))
            if "default" not in field:
                fn.add(d, "else:")
                fn.fail(d + 1, field_path, "absent", v)
        if fn.mode == WALK:
            fn.close(opened, d)

    def emit_enum(self, fn: Function, schema: Mapping[str, Any], v: str, path: Path, d: int) -> None:
        symbols = schema.get("symbols", [])
        allowed = self.module.const(frozenset(symbols))
        shown = repr("[" + ", ".join(symbols[:10]) + (", ..." if len(symbols) > 10 else "") + "]")
        if fn.mode == WALK:
            fn.add(d, f"if not (type({v}) is str or isinstance({v}, str)):")
            fn.fail(d + 1, path, "type", v, repr(f"enum {schema.get('name')}"))
            fn.add(d, f"elif {v} not in {allowed}:")
            fn.fail(d + 1, path, "enum", v, shown)
        else:
            fn.add(d, f"if not ((type({v}) is str or isinstance({v}, str)) and {v} in {allowed}):")
            fn.fail(d + 1, path, "enum", v, shown)

    def emit_fixed(self, fn: Function, schema: Mapping[str, Any], v: str, path: Path, d: int) -> None:
        size = schema.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise self.refuse(f"fixed {schema.get('name')!r} has no valid size")
        if schema.get("logicalType") == "decimal":
            self.emit_decimal(fn, schema, v, path, d, size)
            return
        fn.add(d, f"if not (type({v}) is bytes and len({v}) == {size} or _sc_avro_fixed({v}, {size})):")
        if fn.mode == WALK:
            fn.add(d + 1, f"if _sc_avro_bytes({v}):")
            fn.fail(d + 2, path, "size", v, repr(size))
            fn.add(d + 1, "else:")
            fn.fail(d + 2, path, "type", v, repr(f"fixed {schema.get('name')} ({size} bytes)"))
        else:
            fn.fail(d + 1, path, "type", v)

    def emit_decimal(
        self, fn: Function, schema: Mapping[str, Any], v: str, path: Path, d: int, size: int | None
    ) -> None:
        precision, scale = schema.get("precision"), schema.get("scale", 0)
        if not isinstance(precision, int) or not isinstance(scale, int) or precision < 1 or not 0 <= scale <= precision:
            # fastavro accepts such schemas and the specification says to use the base type
            raw = f"type({v}) is bytes or _sc_avro_bytes({v})"
            fn.add(d, f"if not ({raw if size is None else f'_sc_avro_fixed({v}, {size})'}):")
            fn.fail(d + 1, path, "type", v, repr("bytes" if size is None else f"fixed ({size} bytes)"))
            return
        raw = f"_sc_avro_bytes({v})" if size is None else f"_sc_avro_fixed({v}, {size})"
        fn.add(d, f"if not (_sc_avro_decimal({v}, {precision}, {scale}, {size}) or {raw}):")
        self.fail_logical(fn, d + 1, path, v, "_sc_Decimal", f"decimal({precision}, {scale})")

    @staticmethod
    def fail_logical(fn: Function, d: int, path: Path, v: str, cls: str, label: str) -> None:
        """A value of the logical type's class that is not valid (``logical``), or of another (``type``)."""
        if fn.mode == WALK:
            fn.add(d, f"if isinstance({v}, {cls}):")
            fn.fail(d + 1, path, "logical", v, repr(label))
            fn.add(d, "else:")
            fn.fail(d + 1, path, "type", v, repr(label))
        else:
            fn.fail(d, path, "type", v)

    def emit_primitive(
        self, fn: Function, kind: str, logical: Any, schema: Mapping[str, Any], v: str, path: Path, d: int
    ) -> None:
        if kind == "bytes" and logical == "decimal":
            self.emit_decimal(fn, schema, v, path, d, None)
            return
        if kind == "string" and logical == "uuid":
            fn.add(d, f"if not _sc_avro_uuid({v}):")
            self.fail_logical(fn, d + 1, path, v, "str", "uuid")
            return
        extra = None
        if kind == "int" and logical == "date":
            extra = f"_sc_is_date({v})"
        elif (kind, logical) in (("int", "time-millis"), ("long", "time-micros")):
            extra = f"_sc_is_time({v})"
        elif kind == "long" and logical in _TIMESTAMPS:
            extra = f"_sc_is_datetime({v})"
        if kind == "null":
            fn.add(d, f"if {v} is not None:")
            fn.fail(d + 1, path, "type", v, "'null'")
        elif kind == "boolean":
            fn.add(d, f"if {v} is not True and {v} is not False:")
            fn.fail(d + 1, path, "type", v, "'boolean'")
        elif kind in ("int", "long"):
            low, high = _INT if kind == "int" else _LONG
            if extra is not None:
                fn.add(d, f"if {extra}:")
                fn.add(d + 1, "pass")
                fn.add(d, f"elif not (type({v}) is int or _sc_avro_int({v})):")
            else:
                fn.add(d, f"if not (type({v}) is int or _sc_avro_int({v})):")
            fn.fail(d + 1, path, "type", v, repr(kind if logical is None else f"{kind} ({logical})"))
            fn.add(d, f"elif not {low} <= {v} <= {high}:")
            fn.fail(d + 1, path, "range", v, repr(f"{kind} ({'32' if kind == 'int' else '64'}-bit)"))
        elif kind in ("float", "double"):
            fn.add(d, f"if not (type({v}) is float or type({v}) is int or _sc_avro_float({v})):")
            fn.fail(d + 1, path, "type", v, repr(kind))
        elif kind == "string":
            fn.add(d, f"if not (type({v}) is str or isinstance({v}, str)):")
            fn.fail(d + 1, path, "type", v, "'string'")
        else:  # bytes
            fn.add(d, f"if not (type({v}) is bytes or _sc_avro_bytes({v})):")
            fn.fail(d + 1, path, "type", v, "'bytes'")

    def emit_array(self, fn: Function, schema: Mapping[str, Any], v: str, path: Path, ctx: _Context) -> None:
        d = ctx.depth
        fn.add(d, f"if not (type({v}) is list or isinstance({v}, _sc_ListTuple)):")
        fn.fail(d + 1, path, "type", v, "'array'")
        items = schema.get("items")
        if fn.mode == WALK:
            i, y = fn.var("i"), fn.var()
            fn.add(d, "else:")
            fn.add(d + 1, f"for {i}, {y} in enumerate({v}):")
            self.emit(fn, items, y, path.index(i), ctx.loop(d + 2))
        else:
            y = fn.var()
            fn.add(d, f"for {y} in {v}:")
            self.emit(fn, items, y, path, ctx.loop(d + 1))

    def emit_map(self, fn: Function, schema: Mapping[str, Any], v: str, path: Path, ctx: _Context) -> None:
        d = ctx.depth
        fn.add(d, f"if not (type({v}) is dict or isinstance({v}, _sc_Mapping)):")
        fn.fail(d + 1, path, "type", v, "'map'")
        k, y = fn.var("k"), fn.var()
        if fn.mode == WALK:
            fn.add(d, "else:")
            d += 1
        fn.add(d, f"for {k}, {y} in {v}.items():")
        fn.add(d + 1, f"if not (type({k}) is str or isinstance({k}, str)):")
        fn.fail(d + 2, path.dynamic_key(k), "key", k)
        self.emit(fn, schema.get("values"), y, path.dynamic_key(k), ctx.loop(d + 1))

    def emit_union(self, fn: Function, branches: list[Any], v: str, path: Path, ctx: _Context) -> None:
        d = ctx.depth
        tests = [self.test(branch, v) for branch in branches]
        fn.add(d, f"if not ({' or '.join(tests)}):")
        if fn.mode != WALK:
            fn.fail(d + 1, path, "union", v)
            return
        entries = []
        names = []
        for branch in branches:
            kind, label = self.kind_of(branch)
            names.append(label)
            key = f"union|{id(branch)}"
            entries.append(
                f"({self.module.const(frozenset(_KINDS.get(kind, set())))}, {self.function(branch, key, WALK)})"
            )
        arg = repr(" | ".join(names))
        fn.add(d + 1, f"_sc_alternatives({v}, {path.code()}, _sc_o, 'union', {arg}, ({', '.join(entries)},))")

    def kind_of(self, schema: Any) -> tuple[str, str]:
        """The Avro type of a union branch, and how to name it in a message."""
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return schema, schema
            target, name = self.lookup(schema)
            return target["type"], name
        if isinstance(schema, Mapping):
            kind = schema.get("type")
            if isinstance(kind, (Mapping, list)):
                return self.kind_of(kind)
            if kind in _NAMED:
                return kind, str(schema.get("name"))
            if kind in _PRIMITIVES or kind in ("array", "map"):
                return kind, kind
            if isinstance(kind, str):
                return self.kind_of(kind)
        return "union", "union"

    def test(self, schema: Any, v: str) -> str:
        """An expression true when ``v`` is a valid datum of a union branch."""
        kind, _ = self.kind_of(schema)
        plain = schema if isinstance(schema, str) else schema.get("type") if isinstance(schema, Mapping) else None
        logical = schema.get("logicalType") if isinstance(schema, Mapping) else None
        if (
            kind in _PRIMITIVES
            and isinstance(plain, str)
            and (logical is None or kind in ("null", "boolean", "float", "double"))
        ):
            return {
                "null": f"{v} is None",
                "boolean": f"({v} is True or {v} is False)",
                "int": f"((type({v}) is int or _sc_avro_int({v})) and {_INT[0]} <= {v} <= {_INT[1]})",
                "long": f"((type({v}) is int or _sc_avro_int({v})) and {_LONG[0]} <= {v} <= {_LONG[1]})",
                "float": f"(type({v}) is float or type({v}) is int or _sc_avro_float({v}))",
                "double": f"(type({v}) is float or type({v}) is int or _sc_avro_float({v}))",
                "string": f"(type({v}) is str or isinstance({v}, str))",
                "bytes": f"(type({v}) is bytes or _sc_avro_bytes({v}))",
            }[kind]
        if kind in ("record", "error") and not isinstance(schema, list):
            target, name = self.lookup(schema) if isinstance(schema, str) else (schema, self.full_name(schema, None))
            if isinstance(schema, Mapping) and isinstance(schema.get("type"), str) and schema["type"] not in _NAMED:
                target, name = self.lookup(schema["type"])
            return f"{self.function(target, name, OK)}({v})"
        return f"{self.function(schema, f'union|{id(schema)}', OK)}({v})"
