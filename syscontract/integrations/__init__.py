"""Broker integrations, one module and one extra each, imported only when used.

``kafka`` (confluent-kafka), ``nats`` (nats-py JetStream), ``rabbitmq`` (pika, aio-pika), ``redis`` (redis-py
Streams), ``cloudevents`` and ``faststream`` (FastStream's subscribers, any broker); see docs/integrations.md.
"""
