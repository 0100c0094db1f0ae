"""kombu's Redis transport, with one fault of kombu 5.7 contained.

When the worker loses Redis while a task is running (acks_late: its message is still
unacknowledged), Celery collects the broken connection, which detaches the transport from it,
and then closes it. Closing the channel tries to put the unacknowledged messages back on their
queue, and kombu reaches for the detached connection's host name: AttributeError, which Celery
does not expect there, so the worker logs "Unrecoverable error" and exits instead of
reconnecting (seen in the system soak, bench/soak_system.py, on Redis restarts).

The same detached channel fails again when a task that ran through the outage ends and
Celery acknowledges its message there.

Nothing can be put back or acknowledged through a connection that is gone anyway. Where Redis
kept the messages, it still holds them in its unacked set, and kombu requeues them once their
visibility timeout passes; where Redis lost them, the engine's beat sweep finds the work in the
database (every task here is safe to run twice). So the restore, or the acknowledgement, is
skipped with a warning and the worker goes on with its new connection. Selected by
CELERY_BROKER_TRANSPORT for redis:// brokers (config/settings.py).
"""

from __future__ import annotations

import logging

from kombu.transport import redis

logger = logging.getLogger(__name__)


class QoS(redis.QoS):
    def _connection_gone(self) -> bool:
        """The channel was closed with its connection, or the transport was detached from it."""
        transport = getattr(self.channel, "connection", None)
        return transport is None or getattr(transport, "client", None) is None

    def restore_unacked(self, client=None):
        try:
            return super().restore_unacked(client)
        except AttributeError:
            if not self._connection_gone():
                raise  # a real fault, not ours to hide
            logger.warning(
                "broker connection gone before %s unacknowledged message(s) could be requeued; "
                "Redis requeues what it kept after the visibility timeout",
                len(self._delivered),
            )
            return None

    def ack(self, delivery_tag):
        # A task that ran through the outage ends on the old, closed channel: its message can
        # no longer be acknowledged there (Redis requeues it after the visibility timeout, and
        # every task here is safe to run twice).
        try:
            return super().ack(delivery_tag)
        except AttributeError:
            if not self._connection_gone():
                raise
            logger.warning("task finished after its broker connection was gone; not acknowledged")
            return None

    def reject(self, delivery_tag, requeue=False):
        try:
            return super().reject(delivery_tag, requeue=requeue)
        except AttributeError:
            if not self._connection_gone():
                raise
            logger.warning("task failed after its broker connection was gone; not rejected")
            return None


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
