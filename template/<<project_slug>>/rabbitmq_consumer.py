"""The RabbitMQ worker: `flask consume`, or `python -m <package>.rabbitmq_consumer`.

It publishes the outbox (messages the app committed with its data, see messaging.py) to
RABBITMQ_QUEUE, takes messages from that queue, at most RABBITMQ_PREFETCH unacked at a time, and
runs the handler that message_handlers.HANDLERS registers for each message's type, inside an app
context of its own.

- A message is acked only after its handler's work is committed. Delivery is at least once:
  message_handlers.py says what that asks of a handler.
- A message that cannot be handled (not JSON, no message_id, an unknown type, a handler that
  raised) is nacked without requeue: it lands in RABBITMQ_DEAD_LETTER_QUEUE instead of coming
  back forever. RetryLater, or a database that does not answer, requeues it after a pause; the
  queue's delivery limit dead-letters it if that goes on.
- A lost connection, a broker restart, a handshake that never completes or a broker that stops
  answering (two missed heartbeats): reconnect, with jittered exponential backoff.
  Refused credentials or permissions, or another channel error, will not fix themselves: the
  worker exits 1 with a one-line error.
- Its log lines for a message carry the request ID the message came with (its X-Request-ID
  header, see request_id.py), as does anything the handler publishes in turn.
- SIGTERM or SIGINT: finish and ack the message in hand, then close the connection, so the
  prefetched messages not yet started go back to the queue for another worker.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import random
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import click
import pika
from flask import Flask, current_app
from pika.adapters.blocking_connection import BlockingChannel
from pika.adapters.utils.connection_workflow import AMQPConnectorException
from pika.exceptions import (
    AMQPError,
    AuthenticationError,
    ChannelClosedByBroker,
    ConnectionClosedByBroker,
    ConsumerCancelled,
    ProbableAccessDeniedError,
    ProbableAuthenticationError,
)
from pika.spec import Basic, BasicProperties
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from . import metrics, tracing
from .config import ConfigError
from .db import db
from .message_handlers import HANDLERS, RetryLater
from .messaging import OUTBOX_BATCH, connection_parameters, declare_queues, publish_outbox
from .models import ProcessedMessage
from .request_id import HEADER as REQUEST_ID_HEADER
from .request_id import bound, well_formed

log = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
# Pause before a message whose handler could not run now goes back to the queue.
RETRY_DELAY_SECONDS = 5.0
# How long the worker waits for broker traffic before it checks for a stop request.
POLL_SECONDS = 0.5
# Connection-level refusals: 403 ACCESS_REFUSED, 530 NOT_ALLOWED (e.g. an unknown vhost).
REFUSED_REPLY_CODES = (403, 530)
# Touched on every turn of the consume loop (every POLL_SECONDS while idle): a worker stuck in a
# handler, or wedged anywhere else, leaves it stale, which Kubernetes' liveness probe detects
# (deploy/kubernetes/worker-deployment.yaml). /tmp is writable where the root file system is not.
HEARTBEAT_FILE = os.environ.get("WORKER_HEARTBEAT_FILE", "/tmp/worker-heartbeat")  # noqa: S108


def heartbeat() -> None:
    """Mark the worker alive: HEARTBEAT_FILE's modification time is now."""
    with contextlib.suppress(OSError):  # a liveness signal, never a reason to stop consuming
        Path(HEARTBEAT_FILE).touch()


class Outcome(enum.Enum):
    ACK = "ack"  # handled now or before: remove it from the queue
    DEAD_LETTER = "dead-letter"  # cannot be handled: to the dead-letter queue
    RETRY = "retry"  # cannot be handled yet: back to the queue after a pause


# The counter (metrics.py) of each outcome.
OUTCOME_METRICS = {
    Outcome.ACK: "processed",
    Outcome.DEAD_LETTER: "dead_lettered",
    Outcome.RETRY: "retried",
}


class ConsumerError(click.ClickException):
    """The worker cannot go on (e.g. the broker refused it): one line, exit status 1."""


def handle_message(body: bytes, properties: BasicProperties) -> Outcome:
    """Run the message's handler and commit its work with its ProcessedMessage row.

    Needs an app context; never raises.
    """
    message_id, message_type = properties.message_id, properties.type
    handler = HANDLERS.get(message_type or "")
    if not message_id or handler is None:
        log.error(
            "message %s of type %r: no handler or no message_id: dead-lettered",
            message_id,
            message_type,
        )
        return Outcome.DEAD_LETTER
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        log.error("message %s (%s) is not JSON (%s): dead-lettered", message_id, message_type, exc)
        return Outcome.DEAD_LETTER
    try:
        if already_processed(message_id):
            log.info("message %s (%s) was handled before: acked", message_id, message_type)
            return Outcome.ACK
        handler(data)
        db.session.add(ProcessedMessage(message_id=message_id, type=message_type))
        db.session.commit()
    except (RetryLater, OperationalError) as exc:
        db.session.rollback()
        metrics.count_message("failed", message_type)
        log.warning("message %s (%s) will be retried: %s", message_id, message_type, exc)
        return Outcome.RETRY
    except IntegrityError:
        db.session.rollback()
        with contextlib.suppress(SQLAlchemyError):
            if already_processed(message_id):  # another worker committed it first
                return Outcome.ACK
        metrics.count_message("failed", message_type)
        log.exception("message %s (%s) failed: dead-lettered", message_id, message_type)
        return Outcome.DEAD_LETTER
    except Exception:
        db.session.rollback()
        metrics.count_message("failed", message_type)
        log.exception("message %s (%s) failed: dead-lettered", message_id, message_type)
        return Outcome.DEAD_LETTER
    log.info("message %s (%s) handled", message_id, message_type)
    return Outcome.ACK


def request_id_of(properties: BasicProperties) -> str | None:
    """The X-Request-ID header of a message, if it has a well-formed one."""
    headers = properties.headers or {}
    return well_formed(headers.get(REQUEST_ID_HEADER))


def already_processed(message_id: str) -> bool:
    query = select(ProcessedMessage.id).where(ProcessedMessage.message_id == message_id)
    return db.session.scalar(query) is not None


def is_fatal(error: AMQPError) -> bool:
    """Errors that reconnecting cannot cure: bad credentials, permissions, channel errors."""
    if isinstance(error, AuthenticationError):
        return True
    if isinstance(error, ProbableAuthenticationError | ProbableAccessDeniedError):
        # pika's guess from the stage where the connection ended: a refusal carries its reply
        # code; without one it was a broker restarting or a network failing mid-handshake.
        return any(f"({code})" in str(error) for code in REFUSED_REPLY_CODES)
    if isinstance(error, ConnectionClosedByBroker):
        return error.reply_code in REFUSED_REPLY_CODES  # 320 (broker shutting down) is not
    return isinstance(error, ChannelClosedByBroker)


def describe(error: BaseException) -> str:
    """The error in one line (some pika errors have an empty str(), never an empty repr())."""
    if isinstance(error, ChannelClosedByBroker | ConnectionClosedByBroker):
        return f"({error.reply_code}) {error.reply_text}"
    return f"{error.__class__.__name__}: {error}" if str(error) else repr(error)


def backoff_delay(failures: int) -> float:
    """Seconds before the next connection attempt: doubling, capped, with jitter."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** min(failures, 16))
    # Jitter keeps a fleet of workers from reconnecting in lockstep after a broker restart.
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (timing, not security)


class Consumer:
    """Consumes RABBITMQ_QUEUE for `app` until `stop()` (SIGTERM, SIGINT)."""

    def __init__(self, app: Flask) -> None:
        url = app.config["RABBITMQ_URL"]
        if not url:
            raise ConfigError("RABBITMQ_URL is not set: the worker needs the broker's URL")
        self.app = app
        self.queue = app.config["RABBITMQ_QUEUE"]
        self.dead_letter_queue = app.config["RABBITMQ_DEAD_LETTER_QUEUE"]
        self.prefetch = app.config["RABBITMQ_PREFETCH"]
        self.parameters = connection_parameters(url, f"{self.queue} worker (pid {os.getpid()})")
        self.stopping = False
        self.failures = 0
        self.outbox_failing = False

    def stop(self, signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        if not self.stopping:
            log.info("%s: stopping after the message in hand", signal.Signals(signum).name)
        self.stopping = True

    def run(self) -> None:
        """Consume, reconnecting after connection loss; raise ConsumerError on a fatal error."""
        while not self.stopping:
            try:
                self.consume()
            # AMQPConnectorException: a broker that accepts TCP but never completes the handshake.
            except (AMQPError, AMQPConnectorException, OSError) as exc:
                if isinstance(exc, AMQPError) and is_fatal(exc):
                    raise ConsumerError(f"RabbitMQ refused the worker: {describe(exc)}") from exc
                delay = backoff_delay(self.failures)
                self.failures += 1
                log.warning(
                    "RabbitMQ connection lost (%s): reconnecting in %.1fs", describe(exc), delay
                )
                self.sleep(delay)
        log.info("worker stopped")

    def consume(self) -> None:
        connection = pika.BlockingConnection(self.parameters)
        try:
            channel = connection.channel()
            declare_queues(channel, self.queue, self.dead_letter_queue)
            channel.basic_qos(prefetch_count=self.prefetch)
            channel.basic_consume(self.queue, self.on_message)
            outbox_channel = connection.channel()
            outbox_channel.confirm_delivery()
            self.failures = 0
            log.info("consuming %s (prefetch %d)", self.queue, self.prefetch)
            while not self.stopping:
                heartbeat()
                published = self.publish_outbox(outbox_channel)
                # A full batch: more may be waiting, so only look at the deliveries in between.
                busy = published == OUTBOX_BATCH
                connection.process_data_events(time_limit=0.0 if busy else POLL_SECONDS)
                if not channel.consumer_tags:
                    raise ConsumerCancelled("the broker cancelled the consumer")
            # Closing the channel returns its unacked messages to the queue.
            channel.close()
        finally:
            if connection.is_open:
                with contextlib.suppress(AMQPError, OSError):  # gone either way
                    connection.close()

    def publish_outbox(self, channel: BlockingChannel) -> int:
        """Publish a batch of what the app committed to the outbox; return how many.

        A database outage only delays the outbox; a broker error ends the connection.
        """
        # Untraced: the poll's SQL twice a second; each message published gets its own span.
        with self.app.app_context(), tracing.untraced():
            try:
                published = publish_outbox(channel, self.queue)
            except SQLAlchemyError as exc:
                with contextlib.suppress(SQLAlchemyError):
                    db.session.rollback()
                if not self.outbox_failing:  # once per outage, not twice a second
                    reason = (str(getattr(exc, "orig", exc)).strip().splitlines() or [""])[0]
                    log.warning("outbox not published, the database failed: %s", reason)
                self.outbox_failing = True
                return 0
        if self.outbox_failing:
            log.info("outbox published again")
        self.outbox_failing = False
        return published

    def on_message(
        self,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: BasicProperties,
        body: bytes,
    ) -> None:
        if self.stopping:
            return  # not started: left unacked, it returns to the queue when the channel closes
        with (
            bound(request_id_of(properties)),
            self.app.app_context(),
            tracing.consuming(
                properties.headers, self.queue, properties.type or "", properties.message_id or ""
            ),
        ):
            outcome = handle_message(body, properties)
        metrics.count_message(OUTCOME_METRICS[outcome], properties.type)
        if outcome is Outcome.ACK:
            channel.basic_ack(method.delivery_tag)
        elif outcome is Outcome.DEAD_LETTER:
            channel.basic_nack(method.delivery_tag, requeue=False)
        else:
            self.sleep(RETRY_DELAY_SECONDS)
            channel.basic_nack(method.delivery_tag, requeue=True)

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up early for a stop request."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (remaining := deadline - time.monotonic()) > 0:
            heartbeat()  # waiting to reconnect or to retry is alive, not wedged
            time.sleep(min(remaining, POLL_SECONDS))


def run_worker(app: Flask) -> None:
    """Consume until SIGTERM or SIGINT; the command that deploy targets run for the worker."""
    consumer = Consumer(app)
    host, port = app.config["METRICS_HOST"], app.config["METRICS_PORT"]
    if port is not None:
        try:
            metrics.serve_this_process(host, port)
        except OSError as exc:
            raise ConsumerError(f"metrics cannot be served on {host}:{port}: {exc}") from exc
    signal.signal(signal.SIGTERM, consumer.stop)
    signal.signal(signal.SIGINT, consumer.stop)
    consumer.run()


@click.command("consume")
def consume_command() -> None:
    """Run the RabbitMQ worker until SIGTERM or Ctrl-C."""
    # current_app is a proxy (typed as the Flask app it stands for): the worker keeps the app.
    run_worker(current_app._get_current_object())  # type: ignore[attr-defined]


def main() -> int:
    """`python -m <package>.rabbitmq_consumer`: the same worker without the flask command."""
    from . import create_app

    try:
        run_worker(create_app())
    except click.ClickException as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
