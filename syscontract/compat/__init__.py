"""Schema compatibility: can a reader read what a writer writes, and does a change break a consumer?

::

    from syscontract import FileRegistry
    from syscontract.compat import Consumer, can_read, compare

    registry = FileRegistry("contracts")
    v2, v3 = registry.get("order.v2"), registry.get("order.v3")
    can_read(v3, v2)                      # True: v3's new field has a default
    compare(v3, v2, "BACKWARD").compatible  # True, as any schema registry would say
    result = compare(v3, v2, "BACKWARD", consumers=[Consumer("pricing", ["customer.customerTier"])])
    result.compatible                     # False: v2 data has no customerTier; pricing would get 'BASIC'
    for problem in result.problems:
        print(problem)

Avro follows the specification's schema-resolution rules (:mod:`syscontract.compat.avro`); JSON Schema
and pydantic contracts are compared as "every document the writer accepts, the reader accepts"
(:mod:`syscontract.compat.jsonschema`); :mod:`syscontract.compat.consumers` adds what registry-level
modes cannot see: the fields consumers depend on.
"""

from syscontract.compat._compare import can_read, compare, problems
from syscontract.compat._model import Compatibility, Problem
from syscontract.compat.consumers import Consumer

__all__ = ["Compatibility", "Consumer", "Problem", "can_read", "compare", "problems"]
