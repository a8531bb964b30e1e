"""Publishing messages to RabbitMQ, and the queues that publisher and worker both declare.

The web app calls `publish("user.created", {...})`: the message is written to the outbox table
(models/outbox_message.py) in the request's own transaction, and the worker (`flask consume`,
see rabbitmq_consumer.py) publishes it once committed, then runs the handler of each message
type (message_handlers.py). So a request never waits for the broker nor fails with it: a broker
outage delays messages and loses none, and a change that rolls back announces nothing.

A message is JSON, persistent (it survives a broker restart) and carries a unique `message_id`,
and, published while a request is handled, that request's ID in its X-Request-ID header (the
worker's log lines for it show the ID: request_id.py).
The outbox row is deleted only after the broker confirmed that it stored the message. Delivery is
at least once: when a confirm is lost the message may be published twice, and the worker uses
`message_id` to handle it only once. `Publisher` publishes directly, for scripts and tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.adapters.utils.connection_workflow import AMQPConnectorException
from pika.exceptions import AMQPError
from sqlalchemy import select

from . import tracing
from .db import db
from .models import OutboxMessage
from .request_id import HEADER as REQUEST_ID_HEADER
from .request_id import current_request_id

# Quorum queues are replicated and durable. A message that keeps coming back (e.g. its worker is
# killed while handling it, again and again) is dead-lettered after this many deliveries.
DELIVERY_LIMIT = 20
# A broker short of memory or disk blocks publishers: fail the publish instead of hanging.
BLOCKED_CONNECTION_TIMEOUT_SECONDS = 30
# A broker that stops answering is noticed after two missed heartbeats (RabbitMQ's own default is
# 60 s); the worker then reconnects with backoff.
HEARTBEAT_SECONDS = 15
# Outbox messages the worker publishes per round, oldest first.
OUTBOX_BATCH = 100


class PublishError(Exception):
    """The broker did not take the message (unreachable, refused it, or did not confirm it)."""


def connection_parameters(url: str, connection_name: str) -> pika.URLParameters:
    """Parameters from RABBITMQ_URL; its query string (e.g. `?heartbeat=30`) takes precedence."""
    parameters = pika.URLParameters(url)
    query = parse_qs(urlsplit(url).query)
    if "blocked_connection_timeout" not in query:
        parameters.blocked_connection_timeout = BLOCKED_CONNECTION_TIMEOUT_SECONDS
    if "heartbeat" not in query:
        parameters.heartbeat = HEARTBEAT_SECONDS
    # Shown by `rabbitmqctl list_connections client_properties` and the management UI.
    parameters.client_properties = {"connection_name": connection_name}
    return parameters


def declare_queues(channel: BlockingChannel, queue: str, dead_letter_queue: str) -> None:
    """Declare the work queue and its dead-letter queue; declaring again changes nothing."""
    channel.queue_declare(dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_declare(
        queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            # Rejected messages go through the default exchange, which routes by queue name.
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dead_letter_queue,
            "x-delivery-limit": DELIVERY_LIMIT,
        },
    )


class Publisher:
    """Publishes to one queue, with one connection per thread (pika connections are not
    thread-safe). The connection opens on the first publish and is reused."""

    def __init__(self, url: str, queue: str, dead_letter_queue: str) -> None:
        self.parameters = connection_parameters(url, f"{queue} publisher (pid {os.getpid()})")
        self.queue = queue
        self.dead_letter_queue = dead_letter_queue
        self._local = threading.local()

    def publish(self, message_type: str, data: Any, message_id: str | None = None) -> str:
        """Publish `data` as JSON and wait for the broker's confirm; return the message id."""
        message_id = message_id or uuid.uuid4().hex
        body = json.dumps(data, separators=(",", ":")).encode()
        headers = with_request_id(tracing.current_context_headers(), current_request_id())
        properties = message_properties(message_type, message_id, headers)
        # A reused connection may have been closed by the broker while idle: then try a new one.
        retry_on_new_connection = self._open_channel() is not None
        while True:
            try:
                channel = self._open_channel() or self._connect()
                # mandatory: a message that no queue takes comes back as an error, not dropped.
                channel.basic_publish("", self.queue, body, properties, mandatory=True)
            except (AMQPError, AMQPConnectorException, OSError) as exc:
                self.close()
                if not retry_on_new_connection:
                    detail = f"{exc.__class__.__name__}: {exc}"
                    raise PublishError(
                        f"{message_type} {message_id} not published ({detail})"
                    ) from exc
                retry_on_new_connection = False
            else:
                return message_id

    def close(self) -> None:
        """Close this thread's connection, if any."""
        connection: BlockingConnection | None = getattr(self._local, "connection", None)
        self._local.connection = self._local.channel = None
        if connection is not None and connection.is_open:
            with contextlib.suppress(AMQPError, OSError):  # already gone: nothing to clean up
                connection.close()

    def _open_channel(self) -> BlockingChannel | None:
        channel: BlockingChannel | None = getattr(self._local, "channel", None)
        return channel if channel is not None and channel.is_open else None

    def _connect(self) -> BlockingChannel:
        connection = pika.BlockingConnection(self.parameters)
        self._local.connection = connection
        channel = connection.channel()
        channel.confirm_delivery()
        declare_queues(channel, self.queue, self.dead_letter_queue)
        self._local.channel = channel
        return channel


def with_request_id(headers: dict[str, str], request_id: str | None) -> dict[str, str]:
    """A message's headers: its trace context (when tracing is on) and its request's ID."""
    return {**headers, REQUEST_ID_HEADER: request_id} if request_id else headers


def message_properties(
    message_type: str, message_id: str, headers: dict[str, str] | None = None
) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/json",
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=message_id,
        type=message_type,
        timestamp=int(time.time()),
        headers=headers or None,
    )


def publish(message_type: str, data: Any) -> str:
    """Add a message to the outbox, in the current transaction; return its message id.

    It reaches the broker once the caller commits (the worker publishes it); rolled back, it
    never existed.
    """
    message_id = uuid.uuid4().hex
    body = json.dumps(data, separators=(",", ":"))
    # Headers to publish it with: the trace context of this request, when tracing is on.
    headers = tracing.current_context_headers()
    db.session.add(
        OutboxMessage(
            message_id=message_id,
            type=message_type,
            body=body,
            request_id=current_request_id(),
            headers=json.dumps(headers) if headers else None,
        )
    )
    return message_id


def publish_outbox(channel: BlockingChannel, queue: str) -> int:
    """Publish committed outbox messages, oldest first, on a channel in confirm mode; delete
    each once the broker confirmed it. Return how many were published.

    Needs an app context. Several workers share the outbox: each skips the rows another has
    locked (PostgreSQL, MariaDB 10.6+, MySQL 8; SQLite has one writer anyway). A broker error
    propagates after the confirmed messages are deleted.
    """
    messages = db.session.scalars(
        select(OutboxMessage)
        .order_by(OutboxMessage.id)
        .limit(OUTBOX_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    try:
        for message in messages:
            stored = json.loads(message.headers) if message.headers else {}
            with tracing.publishing(stored, queue, message.type, message.message_id) as headers:
                headers = with_request_id(headers, message.request_id)
                properties = message_properties(message.type, message.message_id, headers)
                # mandatory: a message that no queue takes comes back as an error, not dropped.
                body = message.body.encode()
                channel.basic_publish("", queue, body, properties, mandatory=True)
            db.session.delete(message)
    finally:
        db.session.commit()  # the deletions of the confirmed ones, and the row locks released
    return len(messages)
