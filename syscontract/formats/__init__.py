"""Schema languages, one module each, with the same verb: ``parse(ref, schema, **options) -> Contract``."""
