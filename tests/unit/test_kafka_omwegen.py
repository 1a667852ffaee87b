"""The kafka-python internals that registry/infra/kafka.py's workarounds reach into: on another version of the
client these fail, and each workaround is checked again (is the bug still there? is the attribute?) before the pin
in pyproject.toml moves."""

from __future__ import annotations

import inspect

import kafka
import kafka.consumer.group
import kafka.consumer.subscription_state
import kafka.coordinator.base
import kafka.producer.kafka
import kafka.producer.record_accumulator
import kafka.producer.sender

from registry.infra.kafka import KAFKA_PYTHON


def test_the_client_is_the_version_the_workarounds_were_made_for() -> None:
    assert kafka.__version__.startswith(KAFKA_PYTHON), kafka.__version__


def test_einde_flush_finds_the_accumulators_flush_counter() -> None:
    assert "self._accumulator =" in inspect.getsource(kafka.producer.kafka.KafkaProducer.__init__)
    accumulator = inspect.getsource(kafka.producer.record_accumulator.RecordAccumulator.__init__)
    assert "self._flushes_in_progress =" in accumulator


def test_verlaten_join_finds_the_coordinator_and_its_rejoin_calls() -> None:
    assert "self._coordinator =" in inspect.getsource(kafka.consumer.group.KafkaConsumer.__init__)
    coordinator = kafka.coordinator.base.BaseCoordinator
    assert callable(coordinator.need_rejoin) and callable(coordinator.request_rejoin)


def test_a_retried_transactional_request_sleeps_the_producers_retry_backoff() -> None:
    """Why the validator's and the reconciler's producers set ``TRANSACTIE_RETRY_BACKOFF_MS``: the sender sleeps the
    producer's ``retry_backoff_ms`` before re-sending a refused transactional request (CONCURRENT_TRANSACTIONS while
    the last transaction's markers are written), not the shorter back-off its handler chose."""
    sender = inspect.getsource(kafka.producer.sender.Sender._maybe_send_pending_request)
    assert "time.sleep(self.config['retry_backoff_ms'] / 1000)" in sender


def test_posities_finds_the_subscription_state_and_position_refreshes_every_partition() -> None:
    """``posities`` reads the positions from ``_subscription.assignment[tp].position`` after one ``position`` call,
    because that call makes every assigned partition's position valid, not only its own."""
    assert "self._subscription =" in inspect.getsource(kafka.consumer.group.KafkaConsumer.__init__)
    position = inspect.getsource(kafka.consumer.group.KafkaConsumer.position)
    assert "self._refresh_committed_offsets(" in position and "reset_offsets_if_needed(" in position
    assert "self._subscription.assignment[partition].position" in position
    state = kafka.consumer.subscription_state.TopicPartitionState()
    assert state.position is None and hasattr(kafka.consumer.subscription_state.SubscriptionState(), "assignment")
