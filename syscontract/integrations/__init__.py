"""Broker integrations, one module and one extra each, imported only when used.

``kafka`` (confluent-kafka), ``nats`` (nats-py JetStream), ``rabbitmq`` (pika, aio-pika), ``redis`` (redis-py
Streams) and ``cloudevents``; see docs/integrations.md.
"""
