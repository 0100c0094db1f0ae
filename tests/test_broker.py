"""The worker's broker transport: losing Redis mid-task must not end the worker."""

import pytest
from kombu import Connection, Exchange, Queue
from kombu.transport import redis as kombu_redis

from config.broker import Transport


@pytest.fixture
def unacknowledged(settings):
    """A channel holding one delivered, unacknowledged message, as a worker running an
    acks_late task does; returns a function opening it with the given transport."""
    queue = Queue("test-broker-restore", Exchange("test-broker-restore"), "restore")
    opened = []

    def open_with(transport):
        connection = Connection(settings.CELERY_BROKER_URL, transport=transport)
        opened.append(connection)
        channel = connection.channel()
        connection.Producer(channel).publish(
            {"task": "x"}, exchange=queue.exchange, routing_key="restore", declare=[queue]
        )
        message = channel.basic_get(queue.name, no_ack=False)
        assert message is not None and channel.qos._delivered
        return connection, channel

    yield open_with
    with Connection(settings.CELERY_BROKER_URL) as cleanup:
        queue.bind(cleanup.default_channel).delete()
    for connection in opened:
        connection.transport.client = connection  # let it close normally
        connection.release()


def test_kombus_own_transport_crashes_there(unacknowledged):
    # The fault this module contains: if kombu fixes it, config/broker.py can go.
    connection, channel = unacknowledged(kombu_redis.Transport)
    connection.transport.client = None  # what Celery's collect() does to a broken connection
    with pytest.raises(AttributeError, match="hostname"):
        channel.close()


def test_our_transport_closes_the_channel_and_says_what_it_could_not_requeue(
    unacknowledged, log_of
):
    connection, channel = unacknowledged(Transport)
    messages = log_of("config.broker")
    connection.transport.client = None
    channel.close()
    assert channel.closed
    assert any("1 unacknowledged message(s) could be requeued" in m for m in messages), messages


def test_other_attribute_errors_are_not_hidden(unacknowledged, monkeypatch):
    _connection, channel = unacknowledged(Transport)

    def broken(self, tag, client=None, leftmost=False):
        raise AttributeError("a real fault")

    monkeypatch.setattr(kombu_redis.QoS, "restore_by_tag", broken)
    with pytest.raises(AttributeError, match="a real fault"):
        channel.close()


def test_a_redis_broker_uses_it(settings):
    from config.celery import app

    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert app.conf.broker_transport == "config.broker:Transport"
    with app.connection_for_write() as connection:
        assert connection.transport_cls == "config.broker:Transport"


def test_a_task_ending_after_the_outage_is_not_acknowledged_on_the_closed_channel(
    unacknowledged, log_of
):
    connection, channel = unacknowledged(Transport)
    (tag,) = list(channel.qos._delivered)
    messages = log_of("config.broker")
    connection.transport.client = None
    channel.close()
    channel.qos.ack(tag)  # kombu's own QoS raises AttributeError here: the channel is closed
    assert any("not acknowledged" in m for m in messages), messages
