"""The hot path, one way through.

A message flows one way: wire (framing, the writer's identity) -> registry (writer and reader
contracts) -> decode with the writer's own schema -> presence of the critical fields on what was
written -> resolve / validate into what the handler receives -> policy -> telemetry.

- :mod:`.fastpath`: one description of a declaration's check, and the one builder of every fast path
  (the wrapper's, ``check()``'s, the guards' wire check), written with :mod:`syscontract._codegen`.
- :mod:`.decoder`: bytes into a payload, knowing who wrote them; one plan per writer; what resolution
  filled from reader defaults is never handed on.
- :mod:`.presence`: whether a critical path was sent, decided on the writer's schema and data.
- :mod:`.checker`: one declaration's check: its description, the precise path.
- :mod:`.declaration`: a ``@requires`` declaration and its generated wrapper.
- :mod:`.policy`: raise, dead-letter or observe.
"""
