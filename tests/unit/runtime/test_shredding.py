"""The dead-letter key lifecycle (issue 12): sealing, erasure, bucket keys on schedule, restarts."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.downstream import ErasureCompleted
from schemas.identity import Tenancy, TenancyMode
from services.runtime import deadletter, shredding
from services.runtime.dlq_tools import dead_letter_view, opened
from services.runtime.erasure import receipt, status
from services.runtime.policy import ErrorPolicy, RecordLimits, record_size
from services.runtime.records import InRecord, OutRecord
from services.runtime.settings import PrivacySettings, Settings
from services.runtime.shredding import (
    BUCKET_SCOPE,
    SEALED_KEY,
    STORED_UNWRAPPED,
    KeyStatus,
    KeyWrapper,
    Opened,
    Shredder,
)
from services.runtime.topic_configs import HOUR_MS, key_lifetime_ms

MASTER = "m" * 32
EMAIL = "jane.doe@example.com"


class ListKeyLog:
    """The key topic as a list: appends are durable, every reader reads it from the start."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None]] = []

    def reader(self) -> ListKeyLog.Reader:
        return ListKeyLog.Reader(self)

    class Reader:
        def __init__(self, log: ListKeyLog) -> None:
            self.log = log
            self.position = 0

        def append(self, key_id: str, wrapped: bytes | None) -> None:
            self.log.records.append((key_id, wrapped))

        def read_new(self) -> list[tuple[str, bytes | None]]:
            new = self.log.records[self.position :]
            self.position = len(self.log.records)
            return new

        def close(self) -> None:
            pass


class Clock:
    def __init__(self, at: float = 1_767_225_600.0) -> None:  # 2026-01-01 00:00 UTC
        self.now = at

    def __call__(self) -> float:
        return self.now


def settings(master: str | None = MASTER, tenancy: TenancyMode = TenancyMode.SINGLE) -> Settings:
    # No state directory of a local stack (whose generated key would stand in for None).
    return Settings.model_construct(
        privacy=PrivacySettings(master_key=master),
        tenancy=Tenancy(mode=tenancy),
        state_dir=Path("/nonexistent/rapport-state"),
    )


def raw(customer: str, tenant: str | None = None, offset: int = 0) -> InRecord:
    document = {"type": "chat", "customer_id": customer, "text": f"mail me at {EMAIL}"}
    if tenant is not None:
        document["tenant_id"] = tenant
    return InRecord(
        "rapport.raw.interactions",
        0,
        offset,
        customer.encode(),
        json.dumps(document).encode(),
        [("x-user-email", EMAIL.encode())],
    )


def letter_of(
    shredder: Shredder,
    record: InRecord,
    reason: str = "schema_violation",
    message: str = f"text: looks wrong near {EMAIL}",
) -> OutRecord:
    letter = deadletter.dead_letter(
        record,
        topic="rapport.dead-letter",
        service="ingest",
        reason=reason,
        message=message,
        error_class="PermanentError",
    )
    return shredder.seal(record, letter)


def open_letter(shredder: Shredder, letter: OutRecord) -> Opened | KeyStatus:
    key_id = dict(letter.headers)[SEALED_KEY].decode()
    return shredder.open(key_id, letter.value or b"")


def test_a_sealed_dead_letter_shows_nothing_of_the_record_and_opens_with_its_key() -> None:
    log = ListKeyLog()
    shredder = Shredder(settings(), log.reader())
    record = raw("cust-1")
    letter = letter_of(shredder, record)
    everything = (
        (letter.key or b"") + (letter.value or b"") + b"".join(v for _, v in letter.headers)
    )
    assert EMAIL.encode() not in everything
    assert b"cust-1" not in everything
    assert not any(b"cust-1" in k.encode() or EMAIL.encode() in (v or b"") for k, v in log.records)
    assert dict(letter.headers)[deadletter.REASON] == b"schema_violation"
    result = open_letter(shredder, letter)
    assert isinstance(result, Opened)
    assert (result.key, result.value, result.headers) == (
        record.key,
        record.value,
        record.headers,
    )
    assert EMAIL in result.message


def test_erasure_destroys_the_customers_keys_only_and_within_its_tenant() -> None:
    log = ListKeyLog()
    shredder = Shredder(settings(tenancy=TenancyMode.MULTI), log.reader())
    erased = letter_of(shredder, raw("42", tenant="shop-a"))
    same_id_other_tenant = letter_of(shredder, raw("42", tenant="shop-b"))
    other_customer = letter_of(shredder, raw("43", tenant="shop-a"))

    assert shredder.erase_customer("shop-a", "42") == 1
    assert open_letter(shredder, erased) is KeyStatus.ERASED
    assert isinstance(open_letter(shredder, same_id_other_tenant), Opened)
    assert isinstance(open_letter(shredder, other_customer), Opened)
    assert log.records[-1][1] is None  # a tombstone in the key topic
    # A retried erasure destroys nothing more and reports the same.
    assert shredder.erase_customer("shop-a", "42") == 1


def test_erasure_finds_the_keys_another_instance_wrote() -> None:
    log = ListKeyLog()
    ingest = Shredder(settings(), log.reader())
    scoring = Shredder(settings(), log.reader())
    letter = letter_of(ingest, raw("cust-7"))
    assert scoring.erase_customer(None, "cust-7") == 1
    tool = Shredder(settings(), log.reader())
    assert open_letter(tool, letter) is KeyStatus.ERASED


def test_a_restarted_instance_decrypts_what_it_should_and_nothing_else() -> None:
    log = ListKeyLog()
    clock = Clock()
    first = Shredder(settings(), log.reader(), clock=clock)
    kept = letter_of(first, raw("keep"))
    erased = letter_of(first, raw("gone"))
    bucketed = letter_of(
        first, raw("x@y.example"), "personal_data_in_identifier", "customer_id holds email: …"
    )
    assert (bucketed.key, dict(bucketed.headers)[SEALED_KEY][:7]) == (None, b"bucket/")
    # Personal data in another id: the customer is known, and their key seals it.
    order = letter_of(first, raw("gone"), "personal_data_in_identifier", "order_id holds card")
    first.erase_customer(None, "gone")

    restarted = Shredder(settings(), log.reader(), clock=clock)
    assert isinstance(open_letter(restarted, kept), Opened)
    assert isinstance(open_letter(restarted, bucketed), Opened)
    assert open_letter(restarted, erased) is KeyStatus.ERASED
    assert open_letter(restarted, order) is KeyStatus.ERASED
    # Another master key unwraps nothing: the key topic alone decrypts no dead letter.
    stranger = Shredder(settings(master="z" * 32), log.reader(), clock=clock)
    assert open_letter(stranger, kept) is KeyStatus.UNKNOWN
    # After compaction the erased key's records are gone: unknown, still unreadable.
    scope = (erased.key or b"").decode()
    log.records = [(k, v) for k, v in log.records if not k.startswith(scope)]
    compacted = Shredder(settings(), log.reader(), clock=clock)
    assert open_letter(compacted, erased) is KeyStatus.UNKNOWN
    assert isinstance(open_letter(compacted, kept), Opened)


def test_bucket_keys_expire_when_their_dead_letters_have_left_the_topic() -> None:
    log = ListKeyLog()
    clock = Clock()
    config = settings()
    shredder = Shredder(config, log.reader(), clock=clock)
    first = letter_of(shredder, InRecord("rapport.raw.feedback", 0, 0, None, b"\xff not json"))
    key_id = dict(first.headers)[SEALED_KEY].decode()
    assert key_id.startswith(BUCKET_SCOPE + "/")
    assert first.key is None

    # Next period: a new bucket key, the old one still opens its letters.
    clock.now += 24 * 3600
    second = letter_of(shredder, InRecord("rapport.raw.feedback", 0, 1, None, b"\xfe"))
    assert dict(second.headers)[SEALED_KEY] != dict(first.headers)[SEALED_KEY]
    assert isinstance(open_letter(shredder, first), Opened)

    # The first period's end plus the dead-letter topic's bound: destroyed, by every instance.
    period_end_s = (int(key_id.split("/")[1].split("-")[1])) / 1000
    lifetime_after_period_ms = key_lifetime_ms(config) - 24 * HOUR_MS
    clock.now = period_end_s + lifetime_after_period_ms / 1000 - 1
    assert isinstance(open_letter(shredder, first), Opened)
    clock.now += 1
    assert open_letter(shredder, first) is KeyStatus.EXPIRED
    assert open_letter(Shredder(config, log.reader(), clock=clock), first) is KeyStatus.EXPIRED
    shredder.refresh()
    assert key_id not in shredder.ring.keys_of(BUCKET_SCOPE)
    assert isinstance(open_letter(shredder, second), Opened)


def test_customer_keys_rotate_per_period_and_erasure_destroys_every_period() -> None:
    log = ListKeyLog()
    clock = Clock()
    shredder = Shredder(settings(), log.reader(), clock=clock)
    old = letter_of(shredder, raw("cust-9"))
    clock.now += 24 * 3600
    new = letter_of(shredder, raw("cust-9"))
    assert dict(old.headers)[SEALED_KEY] != dict(new.headers)[SEALED_KEY]
    assert old.key == new.key  # one partition for the customer's dead letters
    assert shredder.erase_customer(None, "cust-9") == 2
    assert open_letter(shredder, old) is KeyStatus.ERASED
    assert open_letter(shredder, new) is KeyStatus.ERASED


def test_without_a_master_key_keys_are_stored_unwrapped_and_erasure_still_works() -> None:
    log = ListKeyLog()
    shredder = Shredder(settings(master=None), log.reader())
    letter = letter_of(shredder, raw("cust-1"))
    assert isinstance(open_letter(Shredder(settings(master=None), log.reader()), letter), Opened)
    shredder.erase_customer(None, "cust-1")
    assert open_letter(Shredder(settings(master=None), log.reader()), letter) is KeyStatus.ERASED


def test_the_error_policy_seals_every_dead_letter_also_the_truncated_envelope() -> None:
    shredder = Shredder(settings(), ListKeyLog().reader())
    policy = ErrorPolicy("ingest", "rapport.dead-letter", RecordLimits(default_bytes=20_000))
    policy.sealer = shredder
    small = policy.dead_letter(raw("c1"), "schema_violation", "bad", ValueError())
    huge_record = InRecord("rapport.raw.interactions", 0, 1, b"c1", EMAIL.encode() * 2000)
    huge = policy.dead_letter(huge_record, "oversized_record", "too big", ValueError())
    for letter in (small, huge):
        assert SEALED_KEY in dict(letter.headers)
        assert EMAIL.encode() not in (letter.value or b"")
    assert dict(huge.headers)["rapport.dlq.truncated"] == b"true"


def test_a_dead_letter_too_large_in_clear_is_sealed_once_as_its_envelope() -> None:
    shredder = Shredder(settings(), ListKeyLog().reader())
    sealed: list[int] = []

    class CountingSealer:
        def seal(self, record: InRecord, letter: OutRecord) -> OutRecord:
            sealed.append(len(letter.value or b""))
            return shredder.seal(record, letter)

        def close(self) -> None:
            shredder.close()

    policy = ErrorPolicy("ingest", "rapport.dead-letter", RecordLimits(default_bytes=20_000))
    policy.sealer = CountingSealer()
    huge_record = InRecord("rapport.raw.interactions", 0, 1, b"c1", EMAIL.encode() * 2000)
    letter = policy.dead_letter(huge_record, "oversized_record", "too big", ValueError())
    assert dict(letter.headers)["rapport.dlq.truncated"] == b"true"
    assert len(sealed) == 1  # the envelope only, not the whole record first
    assert sealed[0] < 20_000

    # A letter that fits in clear but not once sealed is sealed, then enveloped.
    def record_of(size: int) -> InRecord:
        return InRecord("rapport.raw.interactions", 0, 2, b"c1", b"x" * size)

    def size_in_clear(size: int) -> int:
        letter = deadletter.dead_letter(
            record_of(size),
            topic="rapport.dead-letter",
            service="ingest",
            reason="schema_violation",
            message="bad",
            error_class="ValueError",
        )
        return record_size(letter)

    just_fits = 1_000 + 20_000 - 10 - size_in_clear(1_000)
    assert size_in_clear(just_fits) == 20_000 - 10
    letter = policy.dead_letter(record_of(just_fits), "schema_violation", "bad", ValueError())
    assert dict(letter.headers)["rapport.dlq.truncated"] == b"true"
    assert len(sealed) == 3  # the whole letter, then its envelope


def test_the_dlq_tools_open_what_they_may_and_mark_the_rest() -> None:
    log = ListKeyLog()
    shredder = Shredder(settings(), log.reader())
    kept, erased = letter_of(shredder, raw("a")), letter_of(shredder, raw("b"))
    shredder.erase_customer(None, "b")

    def as_read(letter: OutRecord) -> InRecord:
        return InRecord(letter.topic, 0, 0, letter.key, letter.value, letter.headers)

    readable = opened(dead_letter_view(as_read(kept)), shredder)
    assert readable.unreadable is None
    assert readable.value == raw("a").value
    assert readable.original_headers == [("x-user-email", EMAIL.encode())]
    assert opened(dead_letter_view(as_read(erased)), shredder).unreadable is KeyStatus.ERASED
    assert opened(dead_letter_view(as_read(kept)), None).unreadable is KeyStatus.UNKNOWN


def test_the_receipt_bounds_every_topic_that_may_still_hold_the_customer() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    config = Settings.model_construct()
    made = receipt(
        config, at, database_tables=("customer_state",), tombstones=("t",), keys_destroyed=3
    )
    topics = {copy.topic: copy for copy in made.remaining}
    assert config.topics.privacy_keys not in topics
    assert set(topics) == set(config.topics.model_dump().values()) - {config.topics.privacy_keys}
    assert not topics[config.topics.dead_letter].readable
    assert all(copy.removed_by > at for copy in made.remaining)
    # The key topic compacts within hours; the dead letters' ciphertext takes days to expire.
    assert (made.keys_removed_by - at).total_seconds() < 3 * 3600
    assert topics[config.topics.dead_letter].removed_by > made.keys_removed_by


@pytest.mark.parametrize("short", ["", "short"])
def test_a_short_master_key_is_refused(short: str) -> None:
    with pytest.raises(ValueError, match="MASTER_KEY"):
        PrivacySettings(master_key=short)


def test_a_writer_stops_sealing_with_a_key_another_instance_erased(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shredding, "REFRESH_SECONDS", 0.0)
    log = ListKeyLog()
    ingest, scoring = Shredder(settings(), log.reader()), Shredder(settings(), log.reader())
    before = letter_of(ingest, raw("cust-5"))
    scoring.erase_customer(None, "cust-5")
    after = letter_of(ingest, raw("cust-5"))  # a new record, after the erasure
    tool = Shredder(settings(), log.reader())
    assert open_letter(tool, before) is KeyStatus.ERASED
    assert isinstance(open_letter(tool, after), Opened)


def test_erasure_status_finds_the_receipt_and_what_the_system_still_holds() -> None:
    config = settings()
    log = ListKeyLog()
    shredder = Shredder(config, log.reader())
    letter_of(shredder, raw("c9"))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    completed = ErasureCompleted(
        request_id="ER-9",
        customer_id="c9",
        tenant_id="acme-de",
        requested_at=at,
        completed_at=at,
        caused_by_event_id="e9",
        erased=("customer_state",),
    )
    receipts = [(b"c9", completed.model_dump_json().encode()), (b"c8", None)]
    before = status(
        config,
        "c9",
        None,
        erasure_records=receipts,
        latest_records=[(b"c9", b"{}")],
        shredder=shredder,
    )
    assert (len(before.receipts), before.live_dead_letter_keys, before.latest_score_present) == (
        1,
        1,
        True,
    )
    shredder.erase_customer("acme-de", "c9")
    after = status(
        config,
        "c9",
        "acme-de",
        erasure_records=receipts,
        latest_records=[(b"c9", b"{}"), (b"c9", None)],
        shredder=shredder,
    )
    assert (after.live_dead_letter_keys, after.latest_score_present) == (0, False)
    other_tenant = status(
        config, "c9", "acme-fr", erasure_records=receipts, latest_records=[], shredder=shredder
    )
    assert other_tenant.receipts == []
    assert after.as_json(at)["erased"] is True


def test_a_local_stack_generates_its_master_key_once_for_its_owner_only(tmp_path: Path) -> None:
    """`rapport up` and the demo: services and tools beside them share the state directory's
    key; a deployment's RAPPORT_PRIVACY__MASTER_KEY always wins."""
    unset = Settings(privacy=PrivacySettings(), state_dir=tmp_path)
    assert shredding.master_key(unset) is None
    shredding.ensure_local_master_key(tmp_path)
    path = tmp_path / shredding.LOCAL_MASTER_KEY_FILE
    generated = shredding.master_key(unset)
    assert generated is not None
    assert len(generated) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shredding.ensure_local_master_key(tmp_path)  # a restart keeps it
    assert shredding.master_key(unset) == generated
    assert shredding.master_key(settings().model_copy(update={"state_dir": tmp_path})) == MASTER
    # The key it generated seals and opens like a configured one.
    wrapper = shredding.KeyWrapper(generated)
    assert wrapper.unwrap("k", wrapper.wrap("k", b"0" * 32)) == b"0" * 32
    assert shredding.KeyWrapper(MASTER).unwrap("k", wrapper.wrap("k", b"0" * 32)) is None


def test_json_nested_deeper_than_the_stack_is_still_sealed() -> None:
    """Found by the ingest fuzz test: the customer lookup parsed the record and hit Python's
    recursion limit, so the dead letter itself failed and the partition stopped. Such bytes are
    undecodable: the record's Kafka key names the customer, and without one the bucket key
    seals it."""
    log = ListKeyLog()
    shredder = Shredder(settings(), log.reader())
    nested = b"[" * 200_000 + b"]" * 200_000
    for key in (b"cust-1", None):
        record = InRecord("rapport.raw.feedback", 1, 53, key, nested, [])
        letter = letter_of(shredder, record, reason="record_too_large", message="too large")
        key_id = dict(letter.headers)[SEALED_KEY].decode()
        assert key_id.startswith(shredding.BUCKET_SCOPE) is (key is None)
        result = open_letter(shredder, letter)
        assert isinstance(result, Opened)
        assert result.value == nested
    assert shredder.erase_customer(None, "cust-1") == 1


def test_cli_commands_close_the_key_topic_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    """``rapport dlq show|stats|replay``, ``erasure status`` and ``report`` read the key topic
    through ``privacy_cli.dead_letter_keys``: its shredder (and its consumer) is closed when
    the command is done, also when the command fails."""
    from services import privacy_cli
    from services.runtime.settings import Settings

    closed: list[str] = []

    class Recorder:
        def close(self) -> None:
            closed.append("closed")

    monkeypatch.setattr(shredding, "connect", lambda *args, **kwargs: Recorder())
    with privacy_cli.dead_letter_keys(Settings(), "localhost:9092") as keys:
        assert isinstance(keys, Recorder)
        assert closed == []
    assert closed == ["closed"]
    with (
        pytest.raises(RuntimeError, match="the command failed"),
        privacy_cli.dead_letter_keys(Settings(), "localhost:9092"),
    ):
        raise RuntimeError("the command failed")
    assert closed == ["closed", "closed"]


def test_cli_dead_letters_close_the_reader_before_the_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``rapport dlq show|stats`` and ``report`` read dead letters through
    ``privacy_cli.dead_letters``: when the command stops early (``--limit``) or fails, the
    reader is closed first, then the keys it opens sealed letters with."""
    from services import privacy_cli
    from services.runtime import dlq_tools
    from services.runtime.settings import Settings

    events: list[str] = []

    class Recorder:
        def close(self) -> None:
            events.append("keys closed")

    def reader(*args: object, **kwargs: object) -> Iterator[str]:
        assert isinstance(args[4], Recorder)  # the letters are opened with the keys
        try:
            yield from ("letter 1", "letter 2", "letter 3")
        finally:
            events.append("reader closed")

    monkeypatch.setattr(shredding, "connect", lambda *args, **kwargs: Recorder())
    monkeypatch.setattr(dlq_tools, "read_dead_letters", reader)
    with privacy_cli.dead_letters(Settings(), "localhost:9092", None, None) as letters:
        assert next(letters) == "letter 1"  # type: ignore[comparison-overlap]  # a stand-in; stops early like --limit 1
    assert events == ["reader closed", "keys closed"]
    events.clear()

    def failing_command() -> None:
        with privacy_cli.dead_letters(Settings(), "localhost:9092", None, None) as letters:
            next(letters)
            raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError, match="the command failed"):
        failing_command()
    assert events == ["reader closed", "keys closed"]


NEW_MASTER = "n" * 32


def rotated(previous: list[str], master: str = NEW_MASTER) -> Settings:
    return Settings.model_construct(
        privacy=PrivacySettings(
            master_key=master,
            previous_master_keys=previous,
        ),
        tenancy=Tenancy(mode=TenancyMode.SINGLE),
        state_dir=Path("/nonexistent/rapport-state"),
    )


def test_after_a_rotation_old_letters_open_and_an_erasure_destroys_keys_of_both_masters() -> None:
    log = ListKeyLog()
    before = Shredder(settings(MASTER), log.reader())
    old_letter = letter_of(before, raw("c1"))
    old_bucket = letter_of(before, raw("", offset=1))  # no customer: the bucket key
    kept = letter_of(before, raw("c2"))

    after = Shredder(rotated([MASTER]), log.reader())
    assert isinstance(open_letter(after, old_letter), Opened)
    assert isinstance(open_letter(after, old_bucket), Opened)
    new_letter = letter_of(after, raw("c1", offset=2))
    # New keys are wrapped with, and filed under, the new master key only.
    assert after.wrapper.customer_scope(b"c1") != before.wrapper.customer_scope(b"c1")
    assert isinstance(open_letter(Shredder(settings(NEW_MASTER), log.reader()), new_letter), Opened)
    counts = {index: count for index, (count, _) in after.live_keys_by_master().items()}
    assert counts == {0: 1, 1: 3}  # c1's new key; c1's, the bucket's and c2's old keys

    def live_keys_of_c1() -> int:
        found = status(
            after.settings, "c1", None, erasure_records=[], latest_records=[], shredder=after
        )
        return found.live_dead_letter_keys

    assert live_keys_of_c1() == 2  # `rapport erasure status` counts both master keys' keys
    assert after.erase_customer(None, "c1") == 2  # under the old scope and the new one
    assert live_keys_of_c1() == 0
    assert open_letter(after, old_letter) is KeyStatus.ERASED
    assert open_letter(after, new_letter) is KeyStatus.ERASED
    assert isinstance(open_letter(after, kept), Opened)  # another customer's: untouched
    assert after.erase_customer(None, "c1") == 2  # a retried erasure reports the same


def test_while_a_rotation_rolls_out_either_step_opens_and_erases_the_others_letters() -> None:
    log = ListKeyLog()
    introduced = Shredder(rotated([NEW_MASTER], master=MASTER), log.reader())  # step 1
    switched = Shredder(rotated([MASTER]), log.reader())  # step 2
    from_step_1 = letter_of(introduced, raw("c1"))
    from_step_2 = letter_of(switched, raw("c1", offset=1))
    for shredder in (introduced, switched):
        shredder.refresh()  # each reads the other's new key from the key topic
        assert isinstance(open_letter(shredder, from_step_1), Opened)
        assert isinstance(open_letter(shredder, from_step_2), Opened)
    # A not-yet-switched instance (scoring, say) erases the switched instances' keys too.
    assert introduced.erase_customer(None, "c1") == 2
    switched.refresh()
    assert open_letter(switched, from_step_1) is KeyStatus.ERASED
    assert open_letter(switched, from_step_2) is KeyStatus.ERASED


def test_previous_master_keys_without_a_current_one_are_refused() -> None:
    with pytest.raises(ValueError, match="need a current one"):
        KeyWrapper(None, [MASTER])


def test_without_the_previous_master_key_old_letters_stay_closed() -> None:
    log = ListKeyLog()
    old_letter = letter_of(Shredder(settings(MASTER), log.reader()), raw("c1"))
    forgot = Shredder(settings(NEW_MASTER), log.reader())
    assert open_letter(forgot, old_letter) is KeyStatus.UNKNOWN
    found = forgot.live_keys_by_master()
    assert [(index, count) for index, (count, _) in found.items()] == [(None, 1)]


def test_keys_stored_before_a_master_key_was_set_are_still_erased() -> None:
    log = ListKeyLog()
    letter = letter_of(Shredder(settings(None), log.reader()), raw("c1"))
    with_master = Shredder(settings(MASTER), log.reader())
    assert isinstance(open_letter(with_master, letter), Opened)
    assert list(with_master.live_keys_by_master()) == [STORED_UNWRAPPED]
    assert with_master.erase_customer(None, "c1") == 1
    assert open_letter(with_master, letter) is KeyStatus.ERASED


SECRET = "s3cr3t-" * 6


@pytest.mark.parametrize(
    "environment",
    [
        {"RAPPORT_PRIVACY__PREVIOUS_MASTER_KEYS": json.dumps([SECRET])},  # no master key
        {"RAPPORT_PRIVACY__MASTER_KEY": SECRET[:20]},  # too short
        # A key rotated out, given as a string instead of a JSON list.
        {"RAPPORT_PRIVACY__MASTER_KEY": "n" * 32, "RAPPORT_PRIVACY__PREVIOUS_MASTER_KEYS": SECRET},
    ],
)
def test_a_refused_master_key_is_not_printed(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A settings error ends up in the service's log: it names the setting, never the secret.
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(Exception, match=r"(?i)privacy") as refused:
        Settings()
    assert "s3cr3t" not in str(refused.value)


@pytest.mark.parametrize(
    ("privacy", "message"),
    [
        ({"master_key": MASTER, "previous_master_keys": ["short"]}, "32 characters"),
        ({"previous_master_keys": [MASTER]}, "needs RAPPORT_PRIVACY__MASTER_KEY"),
    ],
)
def test_previous_master_keys_are_checked(privacy: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PrivacySettings.model_validate(privacy)
