"""JSON Schema (draft 7 and 2020-12) compiled into a validator module.

Every keyword of the validation vocabulary is compiled; annotations are skipped; any other keyword,
a remote ``$ref``, a ``format`` syscontract does not assert, or a ``pattern`` that Python cannot
evaluate faithfully or safely is refused with :class:`ContractDeclarationError` naming it.

Dialects: both drafts' spellings are understood (``items`` as an array or ``prefixItems``,
``dependencies`` or ``dependentRequired``). Under draft 7, keywords beside ``$ref`` are ignored by the
specification; syscontract refuses such a schema rather than ignore part of it (annotations and
``definitions`` beside ``$ref`` are fine). Without ``$schema``, 2020-12 rules apply.

Annotations by the specification, never asserted: ``title``, ``description``, ``default``,
``examples``, ``readOnly``, ``writeOnly``, ``deprecated``, ``$comment``, ``contentEncoding``,
``contentMediaType``; ``then``/``else`` without ``if``, ``additionalItems`` without array ``items``,
``minContains``/``maxContains`` without ``contains`` have no effect, as specified.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from syscontract.errors import ContractDeclarationError
from syscontract.validation._codegen import GATE, MAX_DEPTH, MAX_LOOPS, OK, WALK, Engine, Function, Module, Path
from syscontract.validation._codegen import Context as _Context
from syscontract.validation._formats import FORMATS
from syscontract.validation._regex import UnsupportedPattern, compile_pattern
from syscontract.validation._runtime import as_decimal, is_num

__all__ = ["ASSERTIONS", "NON_ASSERTIONS", "compile_jsonschema"]

DRAFT7 = "http://json-schema.org/draft-07/schema"

ASSERTIONS = frozenset(
    {
        "type", "enum", "const", "properties", "required", "additionalProperties", "patternProperties",
        "propertyNames", "minProperties", "maxProperties", "dependentRequired", "dependencies", "items",
        "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains", "minContains",
        "maxContains", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minLength", "maxLength", "pattern", "format", "allOf", "anyOf", "oneOf", "not", "if", "then",
        "else", "$ref",
    }
)  # fmt: skip
"""Keywords that constrain a value, every one compiled."""

NON_ASSERTIONS = frozenset(
    {
        "$schema", "$id", "$comment", "title", "description", "default", "examples", "readOnly",
        "writeOnly", "deprecated", "definitions", "$defs", "contentEncoding", "contentMediaType",
    }
)  # fmt: skip
"""Keywords that never change a verdict (annotations, and the homes of definitions)."""

_SIMPLE = frozenset({"type", "enum", "const"})
_STRING = ("minLength", "maxLength", "pattern", "format")
_NUMBER = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_OBJECT = (
    "properties", "required", "additionalProperties", "patternProperties", "propertyNames", "minProperties",
    "maxProperties", "dependentRequired", "dependencies",
)  # fmt: skip
_ARRAY = ("items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains")
_TYPES = ("null", "boolean", "integer", "number", "string", "object", "array")
_CATEGORY_TYPES = {
    "string": frozenset({"string"}),
    "number": frozenset({"integer", "number"}),
    "object": frozenset({"object"}),
    "array": frozenset({"array"}),
}
_GUARDS = {
    "string": "type({v}) is str or isinstance({v}, str)",
    "number": "type({v}) is int or type({v}) is float or _sc_isnum({v})",
    "object": "type({v}) is dict or isinstance({v}, _sc_Mapping)",
    "array": "type({v}) is list or isinstance({v}, _sc_ListTuple)",
}


def compile_jsonschema(ref: str, document: Any, label: str) -> Engine:
    """The validator module for a JSON Schema document; refuses what it cannot evaluate."""
    return _Compiler(ref, document, label).compile()


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Compiler:
    def __init__(self, ref: str, document: Any, label: str) -> None:
        self.ref = ref
        self.document = document
        self.draft7 = isinstance(document, Mapping) and str(document.get("$schema", "")).rstrip("#") == DRAFT7
        self.module = Module(label)
        self.memo: dict[tuple[str, str], str] = {}
        self.pending: list[tuple[Function, Any, str]] = []
        self.inline_budget = 256
        self.checked: set[str] = set()

    # -- driver ----------------------------------------------------------------------------------

    def compile(self) -> Engine:
        root = self.document
        self.memo[("#", OK)] = "_sc_is_valid"
        self.memo[("#", WALK)] = "_sc_walk"
        gate = self.module.function("_sc_validate", GATE)
        self.pending.append((gate, root, "#"))
        self.pending.append((self.module.function("_sc_is_valid", OK), root, "#"))
        self.pending.append((self.module.function("_sc_walk", WALK), root, "#"))
        self.definitions(root, "#")
        while self.pending:
            function, schema, pointer = self.pending.pop(0)
            path = Path("_sc_p") if function.mode == WALK else Path("''")
            self.emit(function, schema, pointer, "x0", path, _Context(1, 0, (pointer,)))
        return self.module.build()

    def function(self, schema: Any, pointer: str, mode: str) -> str:
        """The name of the generated function checking ``schema`` in ``mode`` (``ok`` or ``walk``)."""
        key = (pointer, mode)
        if key not in self.memo:
            name = self.module.name(mode)
            self.memo[key] = name
            self.pending.append((self.module.function(name, mode), schema, pointer))
        return self.memo[key]

    def definitions(self, schema: Any, pointer: str) -> None:
        """Compile every definition, used or not, so that whatever the document holds is checked."""
        if not isinstance(schema, Mapping):
            return
        for keyword in ("definitions", "$defs"):
            for name, sub in self.mapping(schema, keyword, pointer).items():
                sub_pointer = f"{pointer}/{keyword}/{_escape(name)}"
                self.function(sub, sub_pointer, OK)
                self.definitions(sub, sub_pointer)

    def refuse(self, pointer: str, detail: str, keyword: str | None = None) -> ContractDeclarationError:
        where = f"{pointer}/{keyword}" if keyword else pointer
        return ContractDeclarationError(
            f"cannot validate against this JSON Schema: at {where}: {detail}", contract=self.ref, reason="bad-schema"
        )

    # -- checks on the schema's own values -------------------------------------------------------

    def check(self, schema: Mapping[str, Any], pointer: str) -> None:
        if pointer in self.checked:
            return
        self.checked.add(pointer)
        for keyword in schema:
            if keyword not in ASSERTIONS and keyword not in NON_ASSERTIONS:
                raise self.refuse(
                    pointer,
                    f"keyword {keyword!r} is not supported by the validator; refusing the contract rather than "
                    "ignoring part of it",
                    keyword,
                )
        if "$id" in schema and pointer != "#":
            raise self.refuse(pointer, "'$id' below the root changes how references resolve", "$id")
        if "$ref" in schema and self.draft7:
            siblings = sorted(k for k in schema if k in ASSERTIONS and k != "$ref")
            if siblings:
                raise self.refuse(
                    pointer,
                    f"draft 7 ignores keywords beside '$ref' ({', '.join(siblings)}); move them into an 'allOf' "
                    "next to the reference so they apply, or remove them",
                    "$ref",
                )

    def count(self, schema: Mapping[str, Any], keyword: str, pointer: str) -> int:
        value = schema[keyword]
        if is_num(value) and value >= 0 and value == int(value):
            return int(value)
        raise self.refuse(pointer, f"'{keyword}' must be a non-negative integer, not {value!r}", keyword)

    def number(self, schema: Mapping[str, Any], keyword: str, pointer: str) -> Any:
        value = schema[keyword]
        if not is_num(value):
            hint = " (the draft 4 boolean form is not supported)" if isinstance(value, bool) else ""
            raise self.refuse(pointer, f"'{keyword}' must be a number, not {value!r}{hint}", keyword)
        return value

    def mapping(self, schema: Mapping[str, Any], keyword: str, pointer: str) -> Mapping[str, Any]:
        value = schema.get(keyword, {})
        if not isinstance(value, Mapping):
            raise self.refuse(pointer, f"'{keyword}' must be an object", keyword)
        return value

    def array(self, schema: Mapping[str, Any], keyword: str, pointer: str) -> list[Any]:
        value = schema[keyword]
        if not isinstance(value, list) or (keyword in ("allOf", "anyOf", "oneOf") and not value):
            raise self.refuse(pointer, f"'{keyword}' must be a non-empty array", keyword)
        return value

    def strings(self, value: Any, pointer: str, keyword: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.refuse(pointer, f"'{keyword}' must be an array of strings", keyword)
        return value

    def pattern(self, pattern: Any, pointer: str, keyword: str) -> str:
        if not isinstance(pattern, str):
            raise self.refuse(pointer, f"a pattern must be a string, not {pattern!r}", keyword)
        try:
            return self.module.const(compile_pattern(pattern))
        except UnsupportedPattern as exc:
            raise self.refuse(pointer, str(exc), keyword) from exc

    def types(self, schema: Mapping[str, Any], pointer: str) -> list[str] | None:
        if "type" not in schema:
            return None
        declared = schema["type"]
        names = declared if isinstance(declared, list) else [declared]
        if not names or any(name not in _TYPES for name in names):
            raise self.refuse(
                pointer, f"'type' must be one of {', '.join(_TYPES)} or a non-empty array of them", "type"
            )
        return list(dict.fromkeys(names))

    def resolve(self, target: Any, pointer: str) -> tuple[Any, str]:
        if not isinstance(target, str) or not (target == "#" or target.startswith("#/")):
            raise self.refuse(
                pointer,
                f"$ref {target!r} is not a local reference: only '#' and '#/...' pointers into this document are "
                "supported; remote references are refused",
                "$ref",
            )
        node: Any = self.document
        tokens = [] if target == "#" else target[2:].split("/")
        canonical = []
        for raw in tokens:
            token = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise self.refuse(pointer, f"$ref {target!r} points to nothing in this document", "$ref")
            canonical.append(_escape(token))
        return node, "#" + "".join("/" + t for t in canonical)

    # -- emitters --------------------------------------------------------------------------------

    def emit(self, fn: Function, schema: Any, pointer: str, v: str, path: Path, ctx: _Context) -> None:
        """Emit the checks of ``schema`` on variable ``v`` into ``fn`` at ``ctx.depth``."""
        if schema is True:
            return
        if schema is False:
            fn.fail(ctx.depth, path, "false", v)
            return
        if not isinstance(schema, Mapping):
            raise self.refuse(pointer, f"a schema must be an object or a boolean, not {type(schema).__name__}")
        self.check(schema, pointer)
        if ctx.depth > MAX_DEPTH or ctx.loops > MAX_LOOPS:
            self.outline(fn, schema, pointer, v, path, ctx.depth)
            return
        depth = ctx.depth
        types = self.types(schema, pointer)
        mark = -1
        if types is not None:
            if fn.mode != WALK and types == ["object"] and self.reads_keys(schema):
                # ok/gate read required keys with x[name]: a Mapping that is not a dict is copied first, so
                # that a defaultdict is never asked for a key it does not have (no cost for a dict)
                fn.add(depth, f"if type({v}) is not dict:")
                fn.add(depth + 1, f"if not isinstance({v}, _sc_Mapping):")
                fn.fail(depth + 2, path, "type", v, "'object'")
                fn.add(depth + 1, f"{v} = dict({v})")
            else:
                fn.add(depth, f"if not ({self.type_test(types, v)}):")
                fn.fail(depth + 1, path, "type", v, repr(" or ".join(types)))
            if fn.mode == WALK:
                fn.add(depth, "else:")
                mark = fn.mark()
                depth += 1
        inner = ctx.at(depth)
        for category, keywords in (("string", _STRING), ("number", _NUMBER), ("object", _OBJECT), ("array", _ARRAY)):
            if not any(k in schema for k in keywords):
                continue
            scope = self.scope(types, category)
            target = fn
            if scope == "never":  # the keywords cannot apply; still check what they say
                target = Function(self.module, "_sc_scratch", fn.mode)
            section = getattr(self, f"emit_{category}")
            if scope == "maybe":
                fn.add(depth, f"if {_GUARDS[category].format(v=v)}:")
                opened = fn.mark()
                if category == "object" and fn.mode != WALK and self.reads_keys(schema):
                    fn.add(depth + 1, f"if type({v}) is not dict:")
                    fn.add(depth + 2, f"{v} = dict({v})")
                section(fn, schema, pointer, v, path, inner.at(depth + 1))
                fn.close(opened, depth + 1)
            else:
                section(target, schema, pointer, v, path, inner)
        self.emit_values(fn, schema, pointer, v, path, inner, types)
        self.emit_combinators(fn, schema, pointer, v, path, inner)
        if mark >= 0 and fn.mark() == mark:
            fn.lines.pop()  # nothing but the type test: no 'else:' block

    def outline(self, fn: Function, schema: Any, pointer: str, v: str, path: Path, depth: int) -> None:
        ok = None if fn.mode == WALK else self.function(schema, pointer, OK)
        walk = self.function(schema, pointer, WALK) if fn.mode == WALK else None
        fn.call(depth, ok, walk, v, path)

    @staticmethod
    def reads_keys(schema: Mapping[str, Any]) -> bool:
        required = schema.get("required")
        return isinstance(required, list) and bool(required)

    @staticmethod
    def scope(types: list[str] | None, category: str) -> str:
        if types is None:
            return "maybe"
        wanted = _CATEGORY_TYPES[category]
        present = wanted.intersection(types)
        if not present:
            return "never"
        return "always" if set(types) <= wanted else "maybe"

    @staticmethod
    def type_test(types: list[str], v: str) -> str:
        fast: list[str] = []
        slow: list[str] = []
        for name in types:
            if name == "null":
                fast.append(f"{v} is None")
            elif name == "boolean":
                fast.append(f"{v} is True or {v} is False")
            elif name == "string":
                fast.append(f"type({v}) is str")
                slow.append(f"isinstance({v}, str)")
            elif name == "integer":
                if "number" not in types:
                    fast.append(f"type({v}) is int")
                    slow.append(f"_sc_isint({v})")
            elif name == "number":
                fast.append(f"type({v}) is float or type({v}) is int")
                slow.append(f"_sc_isnum({v})")
            elif name == "object":
                fast.append(f"type({v}) is dict")
                slow.append(f"isinstance({v}, _sc_Mapping)")
            else:
                fast.append(f"type({v}) is list")
                slow.append(f"isinstance({v}, _sc_ListTuple)")
        return " or ".join(fast + slow)

    def simple_test(self, schema: Any, pointer: str, v: str) -> str | None:
        """A single expression for a schema of only ``type``/``enum``/``const`` (and annotations)."""
        if schema is True:
            return "True"
        if schema is False:
            return "False"
        if not isinstance(schema, Mapping) or not all(k in _SIMPLE or k in NON_ASSERTIONS for k in schema):
            return None
        if "$defs" in schema or "definitions" in schema:
            return None
        self.check(schema, pointer)
        parts = []
        types = self.types(schema, pointer)
        if types is not None:
            parts.append(f"({self.type_test(types, v)})")
        for keyword in ("enum", "const"):
            if keyword in schema:
                parts.append(f"({self.membership(schema, keyword, pointer, v)})")
        return " and ".join(parts) or "True"

    def test(self, schema: Any, pointer: str, v: str) -> str:
        """An expression true when ``v`` is valid against ``schema``."""
        simple = self.simple_test(schema, pointer, v)
        if simple is not None:
            return simple
        return f"{self.function(schema, pointer, OK)}({v})"

    def membership(self, schema: Mapping[str, Any], keyword: str, pointer: str, v: str) -> str:
        values = schema["enum"] if keyword == "enum" else [schema["const"]]
        if not isinstance(values, list):
            raise self.refuse(pointer, "'enum' must be an array", "enum")
        fast = frozenset(x for x in values if type(x) in (str, int, float))
        everything = self.module.const(tuple(values))
        if not fast:
            return f"_sc_in({v}, {everything})"
        # exact str/int/float: Python equality is JSON equality (1 == 1.0, and no bool is in the set)
        if len(fast) == 1 and len(values) == 1:
            only = next(iter(fast))
            if type(only) is str:
                return f"{v} == {only!r} if type({v}) is str else _sc_in({v}, {everything})"
        return (
            f"{v} in {self.module.const(fast)} if type({v}) is str or type({v}) is int or type({v}) is float "
            f"else _sc_in({v}, {everything})"
        )

    # -- keyword groups --------------------------------------------------------------------------

    def emit_string(
        self, fn: Function, schema: Mapping[str, Any], pointer: str, v: str, path: Path, ctx: _Context
    ) -> None:
        d = ctx.depth
        for keyword, op in (("minLength", "<"), ("maxLength", ">")):
            if keyword in schema:
                bound = self.count(schema, keyword, pointer)
                fn.add(d, f"if len({v}) {op} {bound}:")
                fn.fail(d + 1, path, keyword, v, repr(bound))
        if "pattern" in schema:
            regex = self.pattern(schema["pattern"], pointer, "pattern")
            fn.add(d, f"if {regex}.search({v}) is None:")
            fn.fail(d + 1, path, "pattern", v, self.module.literal(schema["pattern"]))
        if "format" in schema:
            name = schema["format"]
            if not isinstance(name, str) or name not in FORMATS:
                raise self.refuse(
                    pointer,
                    f"format {name!r} is not asserted by syscontract (supported: {', '.join(FORMATS)}); "
                    "refusing rather than ignoring it",
                    "format",
                )
            check = self.module.const(FORMATS[name])
            fn.add(d, f"if not {check}({v}):")
            fn.fail(d + 1, path, "format", v, repr(name))

    def emit_number(
        self, fn: Function, schema: Mapping[str, Any], pointer: str, v: str, path: Path, ctx: _Context
    ) -> None:
        d = ctx.depth
        for keyword, op in (("minimum", "<"), ("maximum", ">"), ("exclusiveMinimum", "<="), ("exclusiveMaximum", ">=")):
            if keyword in schema:
                bound = self.module.literal(self.number(schema, keyword, pointer))
                fn.add(d, f"if {v} {op} {bound}:")
                fn.fail(d + 1, path, keyword, v, bound)
        if "multipleOf" in schema:
            divisor = self.number(schema, "multipleOf", pointer)
            if not divisor > 0:
                raise self.refuse(pointer, f"'multipleOf' must be greater than 0, not {divisor!r}", "multipleOf")
            exact = self.module.const(as_decimal(divisor))
            if type(divisor) is int:
                fn.add(d, f"if not ({v} % {divisor} == 0 if type({v}) is int else _sc_multiple({v}, {exact})):")
            else:
                fn.add(d, f"if not _sc_multiple({v}, {exact}):")
            fn.fail(d + 1, path, "multipleOf", v, self.module.literal(divisor))

    def emit_object(
        self, fn: Function, schema: Mapping[str, Any], pointer: str, v: str, path: Path, ctx: _Context
    ) -> None:
        d = ctx.depth
        properties = self.mapping(schema, "properties", pointer)
        required = list(dict.fromkeys(self.strings(schema.get("required", []), pointer, "required")))
        for name, sub in properties.items():
            sub_pointer = f"{pointer}/properties/{_escape(name)}"
            self.emit_property(fn, name, sub, name in required, sub_pointer, v, path, ctx)
        for name in required:
            if name not in properties:
                fn.add(d, f"if {name!r} not in {v}:")
                fn.fail(d + 1, path.key(name), "absent", v)

        patterns = [
            (self.pattern(p, pointer, "patternProperties"), sub, f"{pointer}/patternProperties/{_escape(p)}")
            for p, sub in self.mapping(schema, "patternProperties", pointer).items()
        ]
        additional = schema.get("additionalProperties", True)
        additional_pointer = f"{pointer}/additionalProperties"
        checks_additional = not self.trivial(additional, additional_pointer)
        if additional is False and not patterns and fn.mode != WALK:
            fn.add(d, f"if not {self.module.const(frozenset(properties))}.issuperset({v}):")
            fn.fail(d + 1, path, "additionalProperties", v)
        elif patterns or checks_additional:
            k, y = fn.var("k"), fn.var()
            fn.add(d, f"for {k}, {y} in {v}.items():")
            inner = ctx.loop(d + 1)
            opened = fn.mark()
            for regex, sub, sub_pointer in patterns:
                if self.trivial(sub, sub_pointer):
                    continue
                fn.add(d + 1, f"if isinstance({k}, str) and {regex}.search({k}) is not None:")
                self.emit(fn, sub, sub_pointer, y, path.dynamic_key(k), inner.at(d + 2))
            if checks_additional:
                conditions = []
                if properties:
                    conditions.append(f"{k} not in {self.module.const(frozenset(properties))}")
                conditions += [f"not (isinstance({k}, str) and {regex}.search({k}))" for regex, _, _ in patterns]
                fn.add(d + 1, f"if {' and '.join(conditions) or 'True'}:")
                if additional is False:
                    fn.fail(d + 2, path.dynamic_key(k), "additionalProperties", y)
                else:
                    self.emit(fn, additional, additional_pointer, y, path.dynamic_key(k), inner.at(d + 2))
            fn.close(opened, d + 1)
        elif "additionalProperties" in schema:
            self.emit(Function(self.module, "_sc_scratch", fn.mode), additional, additional_pointer, "x0", path, ctx)

        if "propertyNames" in schema:
            names = schema["propertyNames"]
            names_pointer = f"{pointer}/propertyNames"
            if not self.trivial(names, names_pointer):
                k = fn.var("k")
                fn.add(d, f"for {k} in {v}:")
                self.emit(fn, names, names_pointer, k, path.dynamic_key(k), ctx.loop(d + 1))
        for keyword, op in (("minProperties", "<"), ("maxProperties", ">")):
            if keyword in schema:
                bound = self.count(schema, keyword, pointer)
                fn.add(d, f"if len({v}) {op} {bound}:")
                fn.fail(d + 1, path, keyword, v, repr(bound))
        dependent: list[tuple[str, str, list[str]]] = []
        for name, names in self.mapping(schema, "dependentRequired", pointer).items():
            dependent.append(("dependentRequired", name, self.strings(names, pointer, "dependentRequired")))
        for name, sub in self.mapping(schema, "dependencies", pointer).items():
            if isinstance(sub, list):
                dependent.append(("dependencies", name, self.strings(sub, pointer, "dependencies")))
            else:
                sub_pointer = f"{pointer}/dependencies/{_escape(name)}"
                if not self.trivial(sub, sub_pointer):
                    fn.add(d, f"if {name!r} in {v}:")
                    opened = fn.mark()
                    self.emit(fn, sub, sub_pointer, v, path, ctx.at(d + 1))
                    fn.close(opened, d + 1)
        for keyword, name, names in dependent:
            if not names:
                continue
            if fn.mode == WALK:
                fn.add(d, f"if {name!r} in {v}:")
                for other in names:
                    fn.add(d + 1, f"if {other!r} not in {v}:")
                    fn.fail(d + 2, path.key(other), keyword, v, repr(repr(name)))
            else:
                present = " and ".join(f"{other!r} in {v}" for other in names)
                fn.add(d, f"if {name!r} in {v} and not ({present}):")
                fn.fail(d + 1, path, keyword, v)

    def emit_property(
        self, fn: Function, name: str, sub: Any, required: bool, sub_pointer: str, v: str, path: Path, ctx: _Context
    ) -> None:
        d = ctx.depth
        trivial = self.trivial(sub, sub_pointer)
        if required:
            if fn.mode == WALK:
                fn.add(d, f"if {name!r} in {v}:")
                opened = fn.mark()
                if not trivial:
                    y = fn.var()
                    fn.add(d + 1, f"{y} = {v}[{name!r}]")
                    self.emit(fn, sub, sub_pointer, y, path.key(name), ctx.at(d + 1))
                fn.close(opened, d + 1)
                fn.add(d, "else:")
                fn.fail(d + 1, path.key(name), "absent", v)
            elif trivial:
                fn.add(d, f"if {name!r} not in {v}:")
                fn.fail(d + 1, path.key(name), "absent", v)
            else:
                y = fn.var()
                fn.add(d, f"{y} = {v}[{name!r}]")
                self.emit(fn, sub, sub_pointer, y, path.key(name), ctx.at(d))
        elif not trivial:
            y = fn.var()
            fn.add(d, f"if {name!r} in {v}:")
            fn.add(d + 1, f"{y} = {v}[{name!r}]")
            self.emit(fn, sub, sub_pointer, y, path.key(name), ctx.at(d + 1))

    def emit_array(
        self, fn: Function, schema: Mapping[str, Any], pointer: str, v: str, path: Path, ctx: _Context
    ) -> None:
        d = ctx.depth
        positional: list[tuple[Any, str]] = []
        rest: Any = None
        rest_pointer, rest_keyword = "", "items"
        items = schema.get("items")
        if "prefixItems" in schema:
            if isinstance(items, list):
                raise self.refuse(pointer, "'prefixItems' and an array 'items' together are ambiguous", "items")
            prefix = self.array(schema, "prefixItems", pointer)
            positional = [(s, f"{pointer}/prefixItems/{i}") for i, s in enumerate(prefix)]
            if "items" in schema:
                rest, rest_pointer = items, f"{pointer}/items"
        elif isinstance(items, list):
            positional = [(s, f"{pointer}/items/{i}") for i, s in enumerate(items)]
            if "additionalItems" in schema:
                rest, rest_pointer, rest_keyword = (
                    schema["additionalItems"],
                    f"{pointer}/additionalItems",
                    "additionalItems",
                )
        elif "items" in schema:
            rest, rest_pointer = items, f"{pointer}/items"
        if "additionalItems" in schema and rest_keyword != "additionalItems":
            # no effect without an array 'items' (as specified); still check what it says
            self.emit(
                Function(self.module, "_sc_scratch", fn.mode),
                schema["additionalItems"],
                f"{pointer}/additionalItems",
                "x0",
                path,
                ctx,
            )

        if any(not self.trivial(s, p) for s, p in positional):
            n = fn.var("n")
            fn.add(d, f"{n} = len({v})")
            for index, (sub, sub_pointer) in enumerate(positional):
                if self.trivial(sub, sub_pointer):
                    continue
                y = fn.var()
                fn.add(d, f"if {n} > {index}:")
                fn.add(d + 1, f"{y} = {v}[{index}]")
                self.emit(fn, sub, sub_pointer, y, Path(path.dynamic, path.suffix + f"[{index}]"), ctx.at(d + 1))
        start = len(positional)
        if rest is False:
            fn.add(d, f"if len({v}) > {start}:")
            fn.fail(d + 1, path, rest_keyword, v, repr(start))
        elif rest is not None and not self.trivial(rest, rest_pointer):
            y = fn.var()
            source = v if start == 0 else f"{v}[{start}:]"
            if fn.mode == WALK:
                i = fn.var("i")
                fn.add(d, f"for {i}, {y} in enumerate({source}, {start}):")
                self.emit(fn, rest, rest_pointer, y, path.index(i), ctx.loop(d + 1))
            else:
                fn.add(d, f"for {y} in {source}:")
                self.emit(fn, rest, rest_pointer, y, path, ctx.loop(d + 1))

        for keyword, op in (("minItems", "<"), ("maxItems", ">")):
            if keyword in schema:
                bound = self.count(schema, keyword, pointer)
                fn.add(d, f"if len({v}) {op} {bound}:")
                fn.fail(d + 1, path, keyword, v, repr(bound))
        if "uniqueItems" in schema:
            if not isinstance(schema["uniqueItems"], bool):
                raise self.refuse(pointer, "'uniqueItems' must be a boolean", "uniqueItems")
            if schema["uniqueItems"]:
                fn.add(d, f"if not _sc_unique({v}):")
                fn.fail(d + 1, path, "uniqueItems", v, f"_sc_duplicates({v})")
        if "contains" in schema:
            low = self.count(schema, "minContains", pointer) if "minContains" in schema else 1
            high = self.count(schema, "maxContains", pointer) if "maxContains" in schema else None
            check = self.function(schema["contains"], f"{pointer}/contains", OK)
            if low > 0 or high is not None:
                fn.add(d, f"if not _sc_count({check}, {v}, {low}, {high}):")
                fn.fail(d + 1, path, "contains", v, f"_sc_contains_detail({check}, {v}, {low}, {high})")
        else:
            for keyword in ("minContains", "maxContains"):
                if keyword in schema:
                    self.count(schema, keyword, pointer)

    def emit_values(
        self,
        fn: Function,
        schema: Mapping[str, Any],
        pointer: str,
        v: str,
        path: Path,
        ctx: _Context,
        types: list[str] | None,
    ) -> None:
        d = ctx.depth
        for keyword in ("enum", "const"):
            if keyword in schema:
                values = schema["enum"] if keyword == "enum" else [schema["const"]]
                if types == ["string"] and isinstance(values, list) and all(type(x) is str for x in values):
                    # the type test passed: v is a str (or a subclass, which hashes and compares as one)
                    fn.add(d, f"if {v} not in {self.module.const(frozenset(values))}:")
                else:
                    fn.add(d, f"if not ({self.membership(schema, keyword, pointer, v)}):")
                if keyword == "enum":
                    shown = ", ".join(json.dumps(x, ensure_ascii=False) for x in schema["enum"][:10])
                    shown = f"[{shown}{', ...' if len(schema['enum']) > 10 else ''}]"
                else:
                    shown = json.dumps(schema["const"], ensure_ascii=False)
                fn.fail(d + 1, path, keyword, v, repr(shown[:200]))

    def emit_combinators(
        self, fn: Function, schema: Mapping[str, Any], pointer: str, v: str, path: Path, ctx: _Context
    ) -> None:
        d = ctx.depth
        if "$ref" in schema:
            target, target_pointer = self.resolve(schema["$ref"], pointer)
            recursive = target_pointer in ctx.stack
            if recursive or self.inline_budget <= 0 or ctx.depth > MAX_DEPTH or ctx.loops > MAX_LOOPS:
                self.outline(fn, target, target_pointer, v, path, d)
            else:
                self.inline_budget -= 1
                self.emit(fn, target, target_pointer, v, path, ctx.entering(target_pointer))
        if "allOf" in schema:
            for index, sub in enumerate(self.array(schema, "allOf", pointer)):
                self.emit(fn, sub, f"{pointer}/allOf/{index}", v, path, ctx)
        for keyword in ("anyOf", "oneOf"):
            if keyword not in schema:
                continue
            branches = self.array(schema, keyword, pointer)
            pointers = [f"{pointer}/{keyword}/{i}" for i in range(len(branches))]
            tests = [self.test(sub, p, v) for sub, p in zip(branches, pointers, strict=True)]
            if keyword == "anyOf":
                fn.add(d, f"if not ({' or '.join(tests)}):")
                if fn.mode == WALK:
                    fn.add(d + 1, self.alternatives(branches, pointers, v, path, "anyOf", repr(len(branches))))
                else:
                    fn.fail(d + 1, path, "anyOf", v)
            elif fn.mode == WALK:
                c = fn.var("c")
                fn.add(d, f"{c} = {' + '.join(f'({t})' for t in tests)}")
                fn.add(d, f"if {c} == 0:")
                fn.add(d + 1, self.alternatives(branches, pointers, v, path, "oneOf", "0"))
                fn.add(d, f"elif {c} > 1:")
                fn.fail(d + 1, path, "oneOf", v, c)
            else:
                fn.add(d, f"if ({' + '.join(f'({t})' for t in tests)}) != 1:")
                fn.fail(d + 1, path, "oneOf", v)
        if "not" in schema:
            fn.add(d, f"if {self.test(schema['not'], f'{pointer}/not', v)}:")
            fn.fail(d + 1, path, "not", v)
        if "if" in schema:
            condition = self.test(schema["if"], f"{pointer}/if", v)
            then, otherwise = schema.get("then"), schema.get("else")
            then_pointer, else_pointer = f"{pointer}/then", f"{pointer}/else"
            has_then = "then" in schema and not self.trivial(then, then_pointer)
            has_else = "else" in schema and not self.trivial(otherwise, else_pointer)
            if has_then:
                fn.add(d, f"if {condition}:")
                opened = fn.mark()
                self.emit(fn, then, then_pointer, v, path, ctx.at(d + 1))
                fn.close(opened, d + 1)
                if has_else:
                    fn.add(d, "else:")
                    opened = fn.mark()
                    self.emit(fn, otherwise, else_pointer, v, path, ctx.at(d + 1))
                    fn.close(opened, d + 1)
            elif has_else:
                fn.add(d, f"if not ({condition}):")
                opened = fn.mark()
                self.emit(fn, otherwise, else_pointer, v, path, ctx.at(d + 1))
                fn.close(opened, d + 1)
        else:
            for keyword in ("then", "else"):  # no effect without 'if' (as specified); still checked
                if keyword in schema:
                    self.function(schema[keyword], f"{pointer}/{keyword}", OK)

    def alternatives(self, branches: list[Any], pointers: list[str], v: str, path: Path, reason: str, arg: str) -> str:
        """The walk-mode report for a value no alternative accepts (see ``_sc_alternatives``)."""
        entries = []
        for sub, sub_pointer in zip(branches, pointers, strict=True):
            kinds = None
            if isinstance(sub, Mapping) and "type" in sub:
                declared = self.types(sub, sub_pointer) or []
                names = set(declared) | ({"number"} if "integer" in declared else set())
                kinds = self.module.const(frozenset(names))
            elif sub is False:
                kinds = self.module.const(frozenset())
            entries.append(f"({kinds}, {self.function(sub, sub_pointer, WALK)})")
        return f"_sc_alternatives({v}, {path.code()}, _sc_o, {reason!r}, {arg}, ({', '.join(entries)},))"

    def trivial(self, schema: Any, pointer: str) -> bool:
        """True when ``schema`` accepts everything (``true``, ``{}``, annotations only)."""
        if schema is True:
            return True
        if isinstance(schema, Mapping) and not any(k in ASSERTIONS for k in schema):
            self.check(schema, pointer)
            return True
        return False
