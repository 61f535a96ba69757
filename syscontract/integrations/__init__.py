"""Broker integrations, one module and one extra each, imported only when used."""
