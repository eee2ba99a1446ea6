"""Crypto-shredding of dead letters: sealed under keys that an erasure or the clock destroys.

A dead letter must keep the rejected record (key, bytes, headers) for a replay, but that record
is exactly what ingest did not get to redact: an ``x-user-email`` header, a card number in a
truncated JSON document. Kafka cannot delete one record of a topic in place, so the record is
stored encrypted (AES-256-GCM) and the *key* is what gets deleted:

* **Per-customer data keys.** A dead letter whose customer is known (from the Kafka key of the
  canonical and annotated topics, from the ``customer_id``/``tenant_id`` of a raw event) is sealed
  under a key of that customer, ``(tenant, customer)`` as ``schemas.identity`` keys them, so an
  erasure in one tenant never touches another's. Erasure tombstones every key of the customer:
  from then on no Rapport tool decrypts those dead letters.
* **Bucket keys.** A record of no known customer (undecodable bytes, an event without a
  customer id, or an id that itself holds personal data and so can never be named in an
  erasure request) is sealed under the key of its time bucket.
* **Periods.** Every key seals the dead letters of one period
  (``RAPPORT_PRIVACY__KEY_PERIOD_HOURS``) and expires when the last of them has left the
  dead-letter topic: the period's end plus the topic's bound (``topic_configs.key_lifetime_ms``).
  An expired key is refused even while it is still in the key topic, and the key topic's own
  retention removes it.
* **Where keys live.** In their own compacted topic (``rapport.privacy.keys``), never next to
  the ciphertext, each wrapped (AES-GCM) with ``RAPPORT_PRIVACY__MASTER_KEY`` and filed under a
  keyed hash of the customer, so the key topic names nobody. A tombstone makes the key unusable
  at once for every reader; compaction (``max.compaction.lag.ms`` and ``segment.ms`` of
  ``RAPPORT_PRIVACY__KEY_COMPACTION_LAG_HOURS``) removes the wrapped key itself.
* **Rotation.** ``RAPPORT_PRIVACY__PREVIOUS_MASTER_KEYS`` keeps the keys rotated out opening
  and erasing what they wrapped and named until it expires (``KeyWrapper``, docs/privacy.md).

Each instance keeps the keys it reads in memory (``KeyRing``) and creates its own key for a scope
and period when it has none: key ids carry a random part, so two instances never overwrite each
other's key, and a restarted instance needs nothing but the key topic and the master key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition

from schemas.identity import TENANT_SEPARATOR, Tenancy, parse_customer_key
from services.runtime import deadletter
from services.runtime.kafka_io import translate_kafka_errors
from services.runtime.records import Headers, InRecord, OutRecord
from services.runtime.settings import Settings
from services.runtime.topic_configs import dead_letter_bound_ms

log = logging.getLogger(__name__)

SEALED_KEY: Final = deadletter.HEADER_PREFIX + "sealed.key"
"""The id of the key that sealed a dead letter (no customer id in it: a keyed hash)."""
SEALED_MESSAGE: Final = "sealed with the record; `rapport dlq show` decrypts it"
"""The clear-text message header of a sealed dead letter (the message may quote the record)."""

BUCKET_SCOPE: Final = "bucket"
_CUSTOMER_PREFIX: Final = "c."
# An identifier-policy rejection whose customer id is personal data: no erasure request can name
# that id (ingest rejects the request too), so the bucket key, which goes on schedule, seals it.
# The message names the fields (services/ingest/identifiers.py), never their values.
_PERSONAL_DATA_IN_IDENTIFIER: Final = "personal_data_in_identifier"
_CUSTOMER_ID_REFUSED: Final = "customer_id holds"
REFRESH_SECONDS: Final = 10.0
"""A writer reads the key topic's news (erasures) before sealing, at most this often."""
_RAW_WRAPPED: Final = b"\x00"
_AES_WRAPPED: Final = b"\x01"
_NONCE_BYTES: Final = 12


class KeyStatus(StrEnum):
    LIVE = "live"
    ERASED = "erased"  # tombstoned by an erasure
    EXPIRED = "expired"  # its period's dead letters have left the topic
    UNKNOWN = "unknown"  # not in the key topic: compacted away after an erasure, or expired


@dataclass(frozen=True)
class KeyId:
    """``<scope>/<period start ms>-<period end ms>/<random>``; scope ``c.<ref>`` or ``bucket``."""

    scope: str
    start_ms: int
    end_ms: int
    nonce: str

    def __str__(self) -> str:
        return f"{self.scope}/{self.start_ms}-{self.end_ms}/{self.nonce}"

    @classmethod
    def parse(cls, text: str) -> KeyId | None:
        try:
            scope, period, nonce = text.split("/")
            start, end = period.split("-")
            return cls(scope, int(start), int(end), nonce)
        except ValueError:
            return None


STORED_UNWRAPPED: Final = -1
"""``KeyWrapper.wrapped_by`` of a data key stored while no master key was set."""


class KeyWrapper:
    """What the master key does: wrap data keys, and name customers without naming them.

    After a rotation the master keys rotated out (``previous``, newest first) still unwrap the
    data keys they wrapped and still name the customers' scopes they filed keys under, so that
    those dead letters stay readable and erasable until their keys expire; new keys are wrapped
    with, and filed under, the current one only."""

    def __init__(self, master_key: str | None, previous: Sequence[str] = ()) -> None:
        if previous and master_key is None:
            raise ValueError("previous master keys need a current one (a rotation)")
        masters = [key.encode() for key in (master_key, *previous) if key is not None]
        # Separate subkeys, so a wrapped key and a reference never share a key.
        self._wraps = [_subkey(master, b"rapport.privacy.wrap") for master in masters]
        self._refs = [_subkey(master, b"rapport.privacy.ref") for master in masters]
        # The current master key's (none set: keys stored unwrapped, scopes unkeyed).
        self._wrap = self._wraps[0] if self._wraps else None
        self._ref = self._refs[0] if self._refs else None

    @property
    def master_keys(self) -> int:
        """How many master keys this wrapper knows (0: none set; else the current one first)."""
        return len(self._wraps)

    def wrap(self, key_id: str, data_key: bytes) -> bytes:
        if self._wrap is None:
            return _RAW_WRAPPED + data_key
        nonce = os.urandom(_NONCE_BYTES)
        return _AES_WRAPPED + nonce + AESGCM(self._wrap).encrypt(nonce, data_key, key_id.encode())

    def unwrap(self, key_id: str, blob: bytes) -> bytes | None:
        """The data key, or None when no master key known here wrapped it."""
        found = self._unwrapped(key_id, blob)
        return None if found is None else found[1]

    def wrapped_by(self, key_id: str, blob: bytes) -> int | None:
        """Which master key wrapped it: 0 the current one, 1 the newest previous one, ...;
        ``STORED_UNWRAPPED`` (no master key then); None: no master key known here did."""
        found = self._unwrapped(key_id, blob)
        return None if found is None else found[0]

    def _unwrapped(self, key_id: str, blob: bytes) -> tuple[int, bytes] | None:
        if blob[:1] == _RAW_WRAPPED:
            return STORED_UNWRAPPED, blob[1:]
        if blob[:1] != _AES_WRAPPED:
            return None
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        # The current key first: after a rotation most keys are wrapped with it.
        for index, wrap_key in enumerate(self._wraps):
            try:
                return index, AESGCM(wrap_key).decrypt(nonce, sealed, key_id.encode())
            except InvalidTag:
                continue
        return None

    def customer_scope(self, customer_key: bytes) -> str:
        """``c.`` + a keyed hash of the customer's key (``tenant|customer`` or the id alone):
        where this instance files the customer's new keys."""
        return _scope(self._ref, customer_key)

    def customer_scopes(self, customer_key: bytes) -> list[str]:
        """Every scope the customer's keys can be filed under: the current master key's, each
        previous one's, and the unkeyed one of keys stored while no master key was set."""
        scopes = [_scope(ref, customer_key) for ref in self._refs] + [_scope(None, customer_key)]
        return list(dict.fromkeys(scopes))


def _scope(ref_key: bytes | None, customer_key: bytes) -> str:
    if ref_key is None:
        digest = hashlib.sha256(b"rapport.privacy.ref" + customer_key).digest()
    else:
        digest = hmac.new(ref_key, customer_key, hashlib.sha256).digest()
    return _CUSTOMER_PREFIX + base64.b32encode(digest[:20]).decode().lower()


def _subkey(secret: bytes, label: bytes) -> bytes:
    return hmac.new(secret, label, hashlib.sha256).digest()


class KeyRing:
    """The keys one instance knows, from the key topic and its own writes (pure: no I/O)."""

    def __init__(
        self,
        wrapper: KeyWrapper,
        *,
        period_ms: int,
        retained_after_period_ms: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._wrapper = wrapper
        self._period_ms = period_ms
        self._retained_ms = retained_after_period_ms
        self._clock = clock
        self._wrapped: dict[str, bytes] = {}
        self._erased: set[str] = set()
        self._writing: dict[str, KeyId] = {}

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def expires_at_ms(self, key_id: KeyId) -> int:
        return key_id.end_ms + self._retained_ms

    def apply(self, record_key: str, value: bytes | None) -> None:
        """A record of the key topic: a wrapped key, or a tombstone destroying one."""
        if value is None:
            self._wrapped.pop(record_key, None)
            self._erased.add(record_key)
            parsed = KeyId.parse(record_key)
            if parsed is not None and self._writing.get(parsed.scope) == parsed:
                del self._writing[parsed.scope]
            return
        self._erased.discard(record_key)
        self._wrapped[record_key] = value

    def status(self, key_id: str) -> KeyStatus:
        parsed = KeyId.parse(key_id)
        if key_id in self._erased:
            return KeyStatus.ERASED
        if parsed is None:
            return KeyStatus.UNKNOWN
        if self._now_ms() >= self.expires_at_ms(parsed):
            return KeyStatus.EXPIRED
        return KeyStatus.LIVE if key_id in self._wrapped else KeyStatus.UNKNOWN

    def data_key(self, key_id: str) -> bytes | None:
        """The key to decrypt with, only while it is live (neither erased nor expired)."""
        if self.status(key_id) is not KeyStatus.LIVE:
            return None
        return self._wrapper.unwrap(key_id, self._wrapped[key_id])

    def writing_key(self, scope: str) -> tuple[KeyId, bytes, bytes | None]:
        """The scope's key for this period: ``(id, data key, wrapped)``, where ``wrapped`` is
        set when the key is new and must be stored before anything is sealed with it."""
        now = self._now_ms()
        start = now - now % self._period_ms
        current = self._writing.get(scope)
        if current is not None and current.start_ms == start:
            known = self.data_key(str(current))
            if known is not None:
                return current, known, None
        key_id = KeyId(scope, start, start + self._period_ms, os.urandom(8).hex())
        data_key = AESGCM.generate_key(bit_length=256)
        wrapped = self._wrapper.wrap(str(key_id), data_key)
        self._wrapped[str(key_id)] = wrapped
        self._writing[scope] = key_id
        return key_id, data_key, wrapped

    def keys_of(self, scope: str) -> list[str]:
        """The scope's keys still held (live or not yet expired from memory)."""
        return sorted(k for k in self._wrapped if k.startswith(scope + "/"))

    def live(self) -> list[tuple[str, bytes]]:
        """``(key id, wrapped key)`` of every key neither erased nor expired."""
        return [(k, w) for k, w in self._wrapped.items() if self.status(k) is KeyStatus.LIVE]

    def erased_of(self, scope: str) -> list[str]:
        return sorted(k for k in self._erased if k.startswith(scope + "/"))

    def forget_expired(self) -> list[str]:
        """Drop expired keys from memory (the key topic's retention drops them from Kafka)."""
        now = self._now_ms()
        expired = [
            k
            for k in self._wrapped
            if (parsed := KeyId.parse(k)) is None or now >= self.expires_at_ms(parsed)
        ]
        for k in expired:
            del self._wrapped[k]
        self._writing = {s: k for s, k in self._writing.items() if str(k) in self._wrapped}
        return expired

    def __len__(self) -> int:
        return len(self._wrapped)


# --- sealing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """A sealed dead letter, decrypted: what the original record was."""

    key: bytes | None
    value: bytes | None
    headers: Headers
    message: str


def seal(letter: OutRecord, *, key_id: KeyId, data_key: bytes) -> OutRecord:
    """The dead letter with its original key, value, headers and message encrypted: in clear
    only Rapport's routing headers and the key's id. Its Kafka key is the customer reference (a
    customer's dead letters stay on one partition) or none for a bucket key."""
    original = [(k, v) for k, v in letter.headers if not k.startswith(deadletter.HEADER_PREFIX)]
    ours = [(k, v) for k, v in letter.headers if k.startswith(deadletter.HEADER_PREFIX)]
    message = next((v for k, v in ours if k == deadletter.MESSAGE), b"").decode("utf-8", "replace")
    meta = {
        "key": _b64(letter.key),
        "value_is_null": letter.value is None,
        "headers": [[k, _b64(v)] for k, v in original],
        "message": message,
    }
    # The value stays raw bytes after the metadata: base64 would make a record that fits the
    # dead-letter topic a third larger, and so a truncated envelope.
    encoded_meta = json.dumps(meta, separators=(",", ":")).encode()
    plaintext = len(encoded_meta).to_bytes(4, "big") + encoded_meta + (letter.value or b"")
    nonce = os.urandom(_NONCE_BYTES)
    sealed = nonce + AESGCM(data_key).encrypt(nonce, plaintext, str(key_id).encode())
    headers = [(k, SEALED_MESSAGE.encode() if k == deadletter.MESSAGE else v) for k, v in ours] + [
        (SEALED_KEY, str(key_id).encode())
    ]
    kafka_key = key_id.scope.encode() if key_id.scope != BUCKET_SCOPE else None
    return OutRecord(letter.topic, kafka_key, sealed, headers, letter.partition)


def unseal(key_id: str, data_key: bytes, value: bytes) -> Opened:
    """``InvalidTag`` when the bytes were not sealed with this key (or were altered)."""
    nonce, sealed = value[:_NONCE_BYTES], value[_NONCE_BYTES:]
    plaintext = AESGCM(data_key).decrypt(nonce, sealed, key_id.encode())
    size = int.from_bytes(plaintext[:4], "big")
    meta = json.loads(plaintext[4 : 4 + size])
    return Opened(
        key=_unb64(meta["key"]),
        value=None if meta["value_is_null"] else plaintext[4 + size :],
        headers=[(k, _unb64(v) or b"") for k, v in meta["headers"]],
        message=str(meta["message"]),
    )


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


# --- whose record is it -------------------------------------------------------------------------


def customer_key_of(
    record: InRecord,
    letter: OutRecord,
    settings: Settings,
    pseudonymize: Callable[[str], str] | None = None,
) -> bytes | None:
    """The customer a rejected record is about, keyed as ``schemas.identity`` keys customers
    (the form scoring names in an erasure), or None when it cannot be told."""
    headers = dict(letter.headers)
    if headers.get(deadletter.REASON) == _PERSONAL_DATA_IN_IDENTIFIER.encode() and (
        _CUSTOMER_ID_REFUSED.encode() in headers.get(deadletter.MESSAGE, b"")
    ):
        return None
    topics, tenancy = settings.topics, settings.tenancy
    if record.topic in (topics.canonical, topics.annotated):
        if not record.key:
            return None
        parsed = parse_customer_key(record.key)
        return tenancy.customer_key(parsed.tenant_id, parsed.customer_id)
    if record.topic in (topics.raw_interactions, topics.raw_feedback):
        return _raw_customer_key(record, tenancy, pseudonymize)
    return None


def _raw_customer_key(
    record: InRecord, tenancy: Tenancy, pseudonymize: Callable[[str], str] | None
) -> bytes | None:
    customer_id: str | None = None
    tenant_id: str | None = None
    try:
        document = json.loads(record.value or b"")
    except (ValueError, RecursionError):
        # RecursionError: JSON nested deeper than the interpreter's stack (a fuzzed record the
        # ingest limits rejected). Whatever the bytes, a dead letter must still be written.
        document = None
    if isinstance(document, dict):
        if isinstance(document.get("customer_id"), str):
            customer_id = document["customer_id"]
        if isinstance(document.get("tenant_id"), str):
            tenant_id = document["tenant_id"]
    elif record.key and not tenancy.multi_tenant:
        # Undecodable bytes: upstream keys every event by its customer id (the contract).
        customer_id = record.key.decode("utf-8", "replace")
    if not customer_id or TENANT_SEPARATOR in customer_id:
        return None
    if tenancy.multi_tenant and tenant_id is None:
        return None  # whose tenant? A guess could file it under another tenant's customer.
    if pseudonymize is not None:
        customer_id = pseudonymize(customer_id)  # the id scoring sees, and erasure names
    return tenancy.customer_key(tenant_id, customer_id)


# --- the key topic ------------------------------------------------------------------------------


class KeyLog(Protocol):
    """Where keys are stored durably: the key topic (``KafkaKeyLog``) or a test's list."""

    def append(self, key_id: str, wrapped: bytes | None) -> None:
        """Store a wrapped key (or a tombstone) durably before returning."""
        ...

    def read_new(self) -> Iterable[tuple[str, bytes | None]]:
        """The records written since the last call (all of them, the first time)."""
        ...

    def close(self) -> None: ...


class KafkaKeyLog:
    """The key topic: one consumer that reads it incrementally, one producer that waits for
    every write to be acknowledged by all in-sync replicas."""

    def __init__(self, bootstrap_servers: str, topic: str, **client_config: Any) -> None:
        self._servers = bootstrap_servers
        self._topic = topic
        self._config = client_config
        self._consumer: Any = None
        self._producer: Any = None

    def append(self, key_id: str, wrapped: bytes | None) -> None:
        with translate_kafka_errors(f"write a key to {self._topic}"):
            if self._producer is None:
                self._producer = KafkaProducer(
                    bootstrap_servers=self._servers,
                    acks="all",
                    enable_idempotence=True,
                    client_id="rapport-privacy-keys",
                    **self._config,
                )
            self._producer.send(self._topic, key=key_id.encode(), value=wrapped).get(timeout=30)

    def read_new(self) -> list[tuple[str, bytes | None]]:
        read: list[tuple[str, bytes | None]] = []
        with translate_kafka_errors(f"read {self._topic}"):
            if self._consumer is None:
                consumer = KafkaConsumer(
                    bootstrap_servers=self._servers,
                    group_id=None,
                    enable_auto_commit=False,
                    client_id="rapport-privacy-keys",
                    **self._config,
                )
                partitions = sorted(consumer.partitions_for_topic(self._topic) or [])
                if partitions:  # none: the topic does not exist yet, so holds no key
                    consumer.assign([KafkaTopicPartition(self._topic, p) for p in partitions])
                    consumer.seek_to_beginning()
                self._consumer = consumer
            consumer = self._consumer
            assigned = list(consumer.assignment())
            ends = consumer.end_offsets(assigned)
            deadline = time.monotonic() + 60
            while any(consumer.position(tp) < ends[tp] for tp in assigned):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"reading {self._topic} made no progress for 60 s")
                for records in consumer.poll(timeout_ms=500).values():
                    read.extend((r.key.decode(), r.value) for r in records if r.key)
        return read

    def close(self) -> None:
        for client in (self._consumer, self._producer):
            if client is not None:
                client.close()
        self._consumer = self._producer = None


LOCAL_MASTER_KEY_FILE: Final = "privacy-master.key"
"""In the state directory of a local stack (``rapport up``, the demo): the master key that stack
generated, so its services and the tools run beside it (``rapport dlq replay``, ``erasure
status``, ``report``) share one without anyone setting RAPPORT_PRIVACY__MASTER_KEY."""


def master_key(settings: Settings) -> str | None:
    """RAPPORT_PRIVACY__MASTER_KEY, else the local stack's generated key, else None."""
    if settings.privacy.master_key is not None:
        return settings.privacy.master_key.get_secret_value()
    try:
        return (settings.state_dir / LOCAL_MASTER_KEY_FILE).read_text().strip() or None
    except OSError:
        return None


def previous_master_keys(settings: Settings) -> list[str]:
    """RAPPORT_PRIVACY__PREVIOUS_MASTER_KEYS: the master keys rotated out, newest first."""
    return [key.get_secret_value() for key in settings.privacy.previous_master_keys]


def ensure_local_master_key(state_dir: Path) -> None:
    """Generate the local stack's master key once, readable by its owner only. It lives and
    dies with the state directory, like the broker's topics it protects (``rapport up
    --reset`` removes both together)."""
    path = state_dir / LOCAL_MASTER_KEY_FILE
    if path.exists():
        return
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(48) + "\n")


class Shredder:
    """Seals dead letters, opens them while their key lives, destroys a customer's keys."""

    def __init__(
        self,
        settings: Settings,
        keys: KeyLog,
        *,
        clock: Callable[[], float] = time.time,
        pseudonymize: Callable[[str], str] | None = None,
    ) -> None:
        self.wrapper = KeyWrapper(master_key(settings), previous_master_keys(settings))
        self.ring = KeyRing(
            self.wrapper,
            period_ms=round(settings.privacy.key_period_hours * 3_600_000),
            retained_after_period_ms=dead_letter_bound_ms(settings),
            clock=clock,
        )
        self.settings = settings
        self._keys = keys
        self._pseudonymize = pseudonymize
        self._refreshed_at = 0.0
        self.refresh()

    def refresh(self) -> None:
        for key_id, wrapped in self._keys.read_new():
            self.ring.apply(key_id, wrapped)
        self.ring.forget_expired()
        self._refreshed_at = time.monotonic()

    def seal(self, record: InRecord, letter: OutRecord) -> OutRecord:
        if time.monotonic() - self._refreshed_at > REFRESH_SECONDS:
            # Another instance's erasure tombstoned a key this one may still seal with: a dead
            # letter sealed under an erased key could never be replayed.
            self.refresh()
        try:
            customer = customer_key_of(record, letter, self.settings, self._pseudonymize)
        except Exception:
            # Sealing is on the dead-letter path: if it raised, the record could be neither
            # processed nor set aside, and its partition would stop. An unknown customer is
            # sealed under the bucket key instead (readable until the bucket expires).
            log.warning(
                "cannot tell whose dead letter this is; sealed under the bucket key", exc_info=True
            )
            customer = None
        scope = BUCKET_SCOPE if customer is None else self.wrapper.customer_scope(customer)
        key_id, data_key, wrapped = self.ring.writing_key(scope)
        if wrapped is not None:
            # Stored before any ciphertext exists: a sealed letter without its key would be lost.
            self._keys.append(str(key_id), wrapped)
            self.ring.forget_expired()
        return seal(letter, key_id=key_id, data_key=data_key)

    def close(self) -> None:
        self._keys.close()

    def open(self, key_id: str, value: bytes) -> Opened | KeyStatus:
        """The original record, or why it cannot be had (erased, expired, unknown)."""
        data_key = self.ring.data_key(key_id)
        if data_key is None:
            status = self.ring.status(key_id)
            return KeyStatus.UNKNOWN if status is KeyStatus.LIVE else status
        try:
            return unseal(key_id, data_key, value)
        except (InvalidTag, ValueError):
            return KeyStatus.UNKNOWN

    def erase_customer(self, tenant_id: str | None, customer_id: str) -> int:
        """Tombstone every key of the customer (any instance's, any period); how many keys of
        theirs are destroyed now."""
        self.refresh()  # the keys other instances wrote, up to now
        erased = 0
        # Under every master key's scope: keys filed before a rotation are the customer's too.
        for scope in self.scopes_of(tenant_id, customer_id):
            for key_id in self.ring.keys_of(scope):
                self._keys.append(key_id, None)
                self.ring.apply(key_id, None)
            # All of the customer's destroyed keys, so that a retried erasure reports the same.
            erased += len(self.ring.erased_of(scope))
        return erased

    def scopes_of(self, tenant_id: str | None, customer_id: str) -> list[str]:
        """Every scope the customer's keys may be filed under (see ``KeyWrapper``)."""
        return self.wrapper.customer_scopes(
            self.settings.tenancy.customer_key(tenant_id, customer_id)
        )

    def live_keys_by_master(self) -> dict[int | None, tuple[int, int | None]]:
        """For each master key (``KeyWrapper.wrapped_by``'s index), how many live data keys it
        wrapped and when the last of them expires (ms since the epoch): once a previous master
        key wraps none, it can be removed from the configuration."""
        # None: a key no master key known here opens (its master key was not kept).
        found: dict[int | None, tuple[int, int | None]] = {}
        for key_id, wrapped in self.ring.live():
            index = self.wrapper.wrapped_by(key_id, wrapped)
            parsed = KeyId.parse(key_id)
            expires = None if parsed is None else self.ring.expires_at_ms(parsed)
            count, last = found.get(index, (0, None))
            if expires is not None:
                last = expires if last is None else max(last, expires)
            found[index] = (count + 1, last)
        return found


def ingest_pseudonymizer(settings: Settings) -> Callable[[str], str] | None:
    """Ingest's customer-id pseudonym, when the deployment sets one: raw records name the
    customer as upstream does, erasure requests reach scoring pseudonymised."""
    key = settings.ingest.pseudonymize_key
    if key is None:
        return None
    # Imported here: the runtime does not depend on a service, except for this one function
    # that must be the very one ingest applies.
    from services.ingest.pii import pseudonymize

    secret = key.get_secret_value().encode()
    return lambda customer_id: pseudonymize(customer_id, secret)


def connect(settings: Settings, bootstrap_servers: str, **client_config: Any) -> Shredder:
    """A shredder on the deployment's key topic (which must exist: ``ensure_topics``)."""
    keys = KafkaKeyLog(bootstrap_servers, settings.topics.privacy_keys, **client_config)
    if master_key(settings) is None:
        log.warning(
            "RAPPORT_PRIVACY__MASTER_KEY is not set: dead-letter keys are stored unwrapped in "
            "%s (erasure still destroys them)",
            settings.topics.privacy_keys,
        )
    return Shredder(settings, keys, pseudonymize=ingest_pseudonymizer(settings))
