"""Schema languages, one module each, with the same verb: ``parse(ref, schema, **options) -> Contract``.

Importing the package registers every module's ``parse`` in :data:`syscontract.contract.PARSERS`, which
``Contract.from_avro``, ``from_jsonschema``, ``from_protobuf`` and ``from_model`` use.
"""

from syscontract.contract import PARSERS
from syscontract.formats import avro, jsonschema, protobuf, pydantic

__all__ = ["avro", "jsonschema", "protobuf", "pydantic"]

PARSERS.update(avro=avro.parse, jsonschema=jsonschema.parse, protobuf=protobuf.parse, pydantic=pydantic.parse)
