"""kafka-python behind the runtime's ports, plus topic administration."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import kafka.errors as kerr
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from services.runtime.exceptions import FatalError, TransientError
from services.runtime.ports import RebalanceListener
from services.runtime.records import InRecord, OutRecord, TopicPartition

log = logging.getLogger(__name__)

# Another producer with our transactional id (or a newer group generation) has taken over: this
# process is a zombie and must stop rather than retry.
_FENCED = (
    kerr.ProducerFencedError,
    kerr.InvalidProducerEpochError,
    kerr.FencedInstanceIdError,
    kerr.TransactionalIdAuthorizationFailedError,
)


@contextmanager
def translate_kafka_errors(action: str) -> Iterator[None]:
    """Map kafka-python's errors onto the runtime's three outcomes."""
    try:
        yield
    except _FENCED as exc:
        raise FatalError(f"{action}: fenced by a newer instance ({exc!r})") from exc
    except kerr.KafkaError as exc:
        raise TransientError(f"{action}: {exc!r}") from exc


def _kafka_tp(tp: TopicPartition) -> KafkaTopicPartition:
    return KafkaTopicPartition(tp.topic, tp.partition)


def _offsets(offsets: Mapping[TopicPartition, int]) -> dict[KafkaTopicPartition, Any]:
    return {_kafka_tp(tp): OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()}


def in_record(r: Any) -> InRecord:
    """A kafka-python ConsumerRecord in the runtime's terms."""
    return InRecord(
        topic=r.topic,
        partition=r.partition,
        offset=r.offset,
        key=r.key,
        value=r.value,
        headers=[(k, v) for k, v in (r.headers or [])],
        timestamp_ms=r.timestamp,
    )


class _ListenerBridge(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, listener: RebalanceListener) -> None:
        self._listener = listener

    def on_partitions_revoked(self, revoked: Collection[Any]) -> None:
        self._listener.on_revoked([TopicPartition(tp.topic, tp.partition) for tp in revoked])

    def on_partitions_assigned(self, assigned: Collection[Any]) -> None:
        self._listener.on_assigned([TopicPartition(tp.topic, tp.partition) for tp in assigned])

    def on_partitions_lost(self, lost: Collection[Any]) -> None:
        self._listener.on_lost([TopicPartition(tp.topic, tp.partition) for tp in lost])


class KafkaConsumerAdapter:
    def __init__(self, bootstrap_servers: str, group_id: str, client_id: str, **config: Any):
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            client_id=client_id,
            # Offsets are committed by the runtime's checkpoint only, after the batch's results
            # are durable; auto-commit would mark records consumed before they were processed.
            enable_auto_commit=False,
            # Upstream stages write in transactions: never read what a crashed stage aborted.
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            **config,
        )

    def subscribe(self, topics: Sequence[str], listener: RebalanceListener) -> None:
        self._consumer.subscribe(list(topics), listener=_ListenerBridge(listener))

    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[InRecord]]:
        with translate_kafka_errors("poll"):
            polled = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        return {
            TopicPartition(tp.topic, tp.partition): [in_record(r) for r in records]
            for tp, records in polled.items()
        }

    def pause(self, partitions: Collection[TopicPartition]) -> None:
        self._consumer.pause(*[_kafka_tp(tp) for tp in partitions])

    def resume(self, partitions: Collection[TopicPartition]) -> None:
        resumed = [_kafka_tp(tp) for tp in partitions]
        self._consumer.resume(*resumed)
        self._drop_parked_fetches(resumed)

    def _drop_parked_fetches(self, partitions: Collection[KafkaTopicPartition]) -> None:
        """Work around a kafka-python 3.0 fetcher bug that starves a resumed partition forever.

        Pausing a partition parks the records already fetched for it (KAFKA-7548); resuming it
        gives them back only while the fetcher's in-line slot is empty, and after the first
        fetch that slot holds a drained batch, never None. The parked records then stay parked,
        and a partition with parked records is never fetched again: seen after a broker restart,
        two partitions idle for good with records waiting, the others flowing. Our resume always
        follows a rewind (``seek``), so parked records are stale anyway (the fetcher would skip
        them by offset); dropping them makes the partition fetch again from its position.
        """
        fetcher = getattr(self._consumer, "_fetcher", None)
        parked_records = getattr(fetcher, "_paused_partition_records", None)
        parked_fetches = getattr(fetcher, "_paused_completed_fetches", None)
        for tp in partitions:
            if isinstance(parked_records, dict) and (records := parked_records.pop(tp, None)):
                records.drain()
            if isinstance(parked_fetches, dict):
                parked_fetches.pop(tp, None)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self._consumer.seek(_kafka_tp(partition), offset)

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    def group_metadata(self) -> object:
        return self._consumer.group_metadata()

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        with translate_kafka_errors("commit offsets"):
            self._consumer.commit(_offsets(offsets))

    def commit_async(self, offsets: Mapping[TopicPartition, int]) -> None:
        def report(_: object, response: object) -> None:
            if isinstance(response, Exception):
                log.warning("commit on revoke failed, records will be re-read: %r", response)

        self._consumer.commit_async(_offsets(offsets), callback=report)

    def highwater(self, partition: TopicPartition) -> int | None:
        # From the last fetch response: no broker round trip on the hot path.
        highwater: int | None = self._consumer.highwater(_kafka_tp(partition))
        return highwater

    def position(self, partition: TopicPartition) -> int | None:
        # timeout 0: a partition we have fetched from has a position, so kafka-python answers
        # from its own state; one it would have to look up is reported as unknown instead.
        try:
            position: int | None = self._consumer.position(_kafka_tp(partition), timeout_ms=0)
        except kerr.KafkaError:
            return None
        return position

    def close(self) -> None:
        self._consumer.close()


class KafkaProducerAdapter:
    def __init__(
        self, bootstrap_servers: str, client_id: str, transactional_id: str | None, **config: Any
    ):
        self._config: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "client_id": client_id,
            # Explicit although transactions imply it: a retried send must never be written
            # twice, in at-least-once mode too.
            "enable_idempotence": True,
            "acks": "all",
            "transactional_id": transactional_id,
            # Larger batches: a transaction's commit flushes at once anyway, so lingering costs
            # latency only in at-least-once mode, and fewer, fuller requests cost less CPU.
            "linger_ms": 20,
            "batch_size": 256 * 1024,
            # A send to a topic that does not exist (deleted under us) waits this long for its
            # metadata; the default 60 s held the whole loop per record. The failure is
            # transient: the partition backs off and readiness reports the missing topic.
            # Also the longest wait for a transaction's commit, abort or offsets (below).
            "max_block_ms": 10_000,
            **config,
        }
        # How long a transaction's commit, abort or offsets may take before its outcome counts
        # as unknown: the Java client's default max.block.ms. Generous, since a renewal (below)
        # costs an epoch bump and a re-initialisation; it only has to end a real hang.
        self._transaction_timeout_ms = 60_000
        self._producer = KafkaProducer(**self._config)
        self._pending: list[Any] = []
        # Set when a transaction's outcome is unknown (no answer in time, an abort that
        # failed): the next transaction starts on a new producer.
        self._renew_before_next = False
        # A producer whose init_transactions has not completed yet (it may take several calls:
        # each waits max_block_ms and the next one goes on waiting for the same request).
        self._needs_init = False

    def init_transactions(self) -> None:
        with translate_kafka_errors("init transactions"):
            self._producer.init_transactions()  # bounded by max_block_ms

    def begin_transaction(self) -> None:
        if self._renew_before_next:
            # A new producer bootstraps, and raises KafkaTimeoutError while the broker is away:
            # transient (the renewal is retried with the next transaction).
            with translate_kafka_errors("renew the transactional producer"):
                self._renew()
        if self._needs_init:
            with translate_kafka_errors("init transactions (new producer)"):
                self._producer.init_transactions()
            self._needs_init = False
        with translate_kafka_errors("begin transaction"):
            self._producer.begin_transaction()

    def _renew(self) -> None:
        """A new producer with the same transactional id. Its init_transactions bumps the
        epoch, which fences the old producer and makes the broker finish the transaction it
        left: aborted, or committed if its commit had reached the coordinator. Either way
        nothing of it becomes visible twice, and offsets move only with their outputs.
        The new producer is kept until its initialisation completes, however many calls that
        takes: replacing it again would restart the wait from scratch every time."""
        with contextlib.suppress(Exception):
            self._producer.close(timeout=5)
        self._pending.clear()
        self._producer = KafkaProducer(**self._config)
        self._renew_before_next = False
        self._needs_init = True

    def _await(self, action: str, start: Callable[[Any], Any]) -> None:
        """Run one transactional request and wait for its answer, 60 s at most.

        kafka-python waits for EndTxn and AddOffsetsToTxn without a limit (the Java client did
        too, until KAFKA-7763): a broker that dies with the request in flight hangs the loop
        for good, heartbeats and all. A timeout is transient; the transaction's fate is
        settled by the next producer (``_renew``).
        """
        with translate_kafka_errors(action):
            result = start(self._producer._transaction_manager)
            self._producer._sender.wakeup()
            if not result.wait(timeout_ms=self._transaction_timeout_ms):
                self._renew_before_next = True
                raise kerr.KafkaTimeoutError(
                    f"{action}: no answer within {self._transaction_timeout_ms} ms"
                )

    def send(self, record: OutRecord) -> None:
        with translate_kafka_errors(f"send to {record.topic}"):
            self._pending.append(
                self._producer.send(
                    record.topic,
                    key=record.key,
                    value=record.value,
                    headers=record.headers,
                    partition=record.partition,
                )
            )

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group_metadata: object
    ) -> None:
        kafka_offsets = _offsets(offsets)
        self._await(
            "send offsets to transaction",
            lambda tm: tm.send_offsets_to_transaction(kafka_offsets, group_metadata),
        )

    def commit_transaction(self) -> None:
        self._await("commit transaction", lambda tm: tm.begin_commit())
        with translate_kafka_errors("commit transaction"):
            self._raise_failed_sends()

    def abort_transaction(self) -> None:
        self._pending.clear()
        if self._renew_before_next:
            return  # the outcome is unknown: the next producer settles it
        try:
            self._await("abort transaction", lambda tm: tm.begin_abort())
        except TransientError:
            self._renew_before_next = True
            raise

    def flush(self) -> None:
        with translate_kafka_errors("flush"):
            # Bounded like the transactional calls: a dead broker must not hang the loop.
            self._producer.flush(timeout=self._transaction_timeout_ms / 1000)
            self._raise_failed_sends()

    def _raise_failed_sends(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            if future.failed():
                raise future.exception

    def client_metrics(self) -> dict[str, dict[str, float]]:
        """kafka-python's own metrics, by group (``producer-metrics``: errors, retries)."""
        found: dict[str, dict[str, float]] | None = self._producer.metrics()
        return found or {}

    def close(self) -> None:
        self._producer.close()


def ensure_topics(
    bootstrap_servers: str,
    topics: Collection[str],
    partitions: int,
    configs: Mapping[str, Mapping[str, str]] | None = None,
    **client_config: Any,
) -> list[str]:
    """Create the topics that do not exist yet; report how existing ones differ from ``configs``.

    Existing topics are never altered: they may be shared, and changing a cleanup policy or a
    partition count under running consumers is an operator's decision. Each difference is
    logged as a warning, with the command that fixes it, and returned.
    """
    wanted = {name: dict((configs or {}).get(name, {})) for name in topics}
    with translate_kafka_errors(f"connect to Kafka at {bootstrap_servers}"):
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers, client_id="rapport-admin", **client_config
        )
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=-1,  # the broker's default.replication.factor
                topic_configs=wanted[name],
            )
            for name in topics
            if name not in existing
        ]
        if missing:
            # Another service may create one between our list and create: that is fine.
            with contextlib.suppress(kerr.TopicAlreadyExistsError):
                admin.create_topics(missing)
        drift = _config_drift(admin, {n: c for n, c in wanted.items() if n in existing and c})
    finally:
        admin.close()
    for message in drift:
        log.warning("%s", message)
    return drift


def _config_drift(admin: KafkaAdminClient, wanted: Mapping[str, Mapping[str, str]]) -> list[str]:
    """One message per setting of an existing topic that differs from what Rapport needs."""
    if not wanted:
        return []
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, name, configs=dict.fromkeys(settings))
        for name, settings in wanted.items()
    ]
    # "all", not only the modified settings: a topic on the broker's defaults has
    # cleanup.policy=delete without listing it.
    described = admin.describe_configs(resources, config_filter="all").get("topic", {})
    messages = []
    for name, settings in sorted(wanted.items()):
        actual = described.get(name, {})
        for key, value in sorted(settings.items()):
            found = (actual.get(key) or {}).get("value")
            if found != value:
                messages.append(
                    f"topic {name} has {key}={found}, Rapport needs {value}: "
                    f"kafka-configs.sh --bootstrap-server <servers> --alter --entity-type topics "
                    f"--entity-name {name} --add-config {key}={value}"
                )
    return messages


def topic_max_message_bytes(
    bootstrap_servers: str, topics: Collection[str], **client_config: Any
) -> dict[str, int]:
    """Each topic's ``max.message.bytes`` (its own, or the broker's default): the largest record
    batch the broker accepts for it."""
    with translate_kafka_errors(f"describe topics at {bootstrap_servers}"):
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers, client_id="rapport-admin", **client_config
        )
        try:
            resources = [
                ConfigResource(ConfigResourceType.TOPIC, name, configs={"max.message.bytes": None})
                for name in topics
            ]
            described = admin.describe_configs(resources, config_filter="all").get("topic", {})
        finally:
            admin.close()
    limits: dict[str, int] = {}
    for name in topics:
        value = (described.get(name, {}).get("max.message.bytes") or {}).get("value")
        if value is not None:
            limits[name] = int(value)
    return limits


class TopicCatalog:
    """Which topics exist and their identities (KIP-516 topic ids), asked of the broker at most
    once per ``ttl_seconds``. Safe to call from the HTTP thread: one admin client, one lock."""

    def __init__(
        self, bootstrap_servers: str, ttl_seconds: float = 10.0, **client_config: Any
    ) -> None:
        self._servers = bootstrap_servers
        self._client_config = client_config
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._admin: KafkaAdminClient | None = None
        self._ids: dict[str, str] = {}
        self._fetched_at = float("-inf")

    def topic_ids(self, refresh: bool = False) -> dict[str, str]:
        """Topic name -> topic id of every topic that exists now."""
        with self._lock:
            if refresh or time.monotonic() - self._fetched_at > self._ttl:
                with translate_kafka_errors(f"list topics at {self._servers}"):
                    if self._admin is None:
                        self._admin = KafkaAdminClient(
                            bootstrap_servers=self._servers,
                            client_id="rapport-topic-catalog",
                            **self._client_config,
                        )
                    described = self._admin.describe_topics()
                self._ids = {
                    t["name"]: str(t.get("topic_id") or "")
                    for t in described
                    if t.get("error_code", 0) == 0
                }
                self._fetched_at = time.monotonic()
            return dict(self._ids)

    def missing(self, topics: Collection[str]) -> list[str]:
        existing = self.topic_ids()
        return sorted(t for t in topics if t not in existing)

    def close(self) -> None:
        with self._lock:
            if self._admin is not None:
                self._admin.close()
                self._admin = None


def broker_reachable(bootstrap_servers: str, timeout_seconds: float = 1.0) -> bool:
    """A TCP connect to any bootstrap server; readiness must not touch the (single-threaded)
    consumer from the HTTP thread."""
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout_seconds):
                return True
        except (OSError, ValueError):
            continue
    return False


def read_changelog(
    bootstrap_servers: str, topic: str, partition: int, **client_config: Any
) -> list[tuple[str, int]]:
    """Every committed (key, timestamp) of one changelog partition, up to its current end.

    read_committed matters: entries of aborted transactions describe outputs that never became
    visible and must not be restored.
    """
    from services.runtime.topic_reader import read_to_end

    return [
        (r.key.decode(), int(r.value))
        for chunk in read_to_end(
            bootstrap_servers,
            topic,
            client_id="rapport-changelog-restore",
            partitions=[partition],
            **client_config,
        )
        for r in chunk
        if r.key and r.value
    ]
