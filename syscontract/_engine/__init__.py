"""The hot path, one way through.

A message flows one way: wire (framing, the writer's identity) -> registry (writer and reader
contracts) -> decode with the writer's own schema -> presence of the critical fields on what was
written -> resolve / validate into what the handler receives -> policy -> telemetry.

- :mod:`._compile`: compiles generated code and registers (and releases) its linecache entries.
- :mod:`.decoder`: bytes into a payload, knowing who wrote them; one plan per writer.
- :mod:`.presence`: whether a critical path was sent, decided on the writer's schema and data.
- :mod:`.checker`: one declaration's check: generated fast path, precise path.
- :mod:`.declaration`: a ``@requires`` declaration and its generated wrapper.
- :mod:`.policy`: raise, dead-letter or observe.
"""
