"""PolicyStore: exact round trips, filters, edits, checks and all-or-nothing batches."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hoister.errors import HoisterError, InvalidInput
from hoister.policies.errors import CycleError, PolicyNotFound
from hoister.policies.model import OverwriteMode, Policy, Route, Rule, TimeZoneMode
from hoister.store import Database, PolicyStore, transaction

from .conftest import TickingClock, make_policy

#: Any text but NUL, which neither backend accepts (see test_nul_is_refused_alike).
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
TIMES = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=ZONES
)
RULES = st.builds(Rule, TEXT, TEXT, st.lists(TEXT, max_size=4).map(tuple))
POLICIES = st.builds(
    Policy,
    source_profile=TEXT,
    source_repository=TEXT,
    target_repository=TEXT,
    tag_template=TEXT,
    rules=st.lists(RULES, max_size=5).map(tuple),
    name=TEXT,
    description=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=300
    ),
    target_profile=st.none() | TEXT,
    enabled=st.booleans(),
    overwrite=st.sampled_from(OverwriteMode),
    time_zone=st.sampled_from(TimeZoneMode),
    apply_existing=st.booleans(),
    copy_referrers=st.booleans(),
    record_provenance=st.booleans(),
    webhook_url=st.none() | TEXT,
    # The store assigns these three, whatever the caller put there.
    id=st.none() | st.integers(1, 10**6),
    created_at=st.none() | TIMES,
    updated_at=st.none() | TIMES,
    last_promoted_at=st.none() | TIMES,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=POLICIES)
def test_every_field_round_trips(store: PolicyStore, clock: TickingClock, policy: Policy) -> None:
    added = store.add(policy)
    expected = policy.with_changes(
        id=added.id,
        created_at=clock.now,
        updated_at=clock.now,
        version=1,
        updated_by=store.author,
    )
    assert added == expected
    fetched = store.get(added.id)
    assert fetched == expected
    assert isinstance(fetched.rules, tuple)
    assert all(isinstance(rule.values, tuple) for rule in fetched.rules)
    for when in (fetched.created_at, fetched.updated_at, fetched.last_promoted_at):
        assert when is None or when.tzinfo is UTC


def test_non_default_values_round_trip(store: PolicyStore) -> None:
    policy = Policy(
        source_profile="dev-registry",
        source_repository="dev/website",
        target_repository="qa/website",
        tag_template="%Y%m%d-%H%M%S",
        rules=(Rule("tag", "ew", ["stable"]), Rule("vulnerability_critical", "lte", ["0"])),
        name="Stable builds to QA ✓",
        description="Проверено\nmulti-line, emoji 🚀",
        target_profile="qa-registry",
        enabled=False,
        overwrite=OverwriteMode.BACKUP,
        time_zone=TimeZoneMode.LOCAL,
        apply_existing=True,
        copy_referrers=False,
        record_provenance=False,
        webhook_url="https://hooks.example/promote",
        last_promoted_at=datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    )
    added = store.add(policy)
    assert store.get(added.id) == added
    assert (
        added.with_changes(id=None, created_at=None, updated_at=None, version=0, updated_by="")
        == policy
    )


def test_ids_increase_and_are_not_reused(store: PolicyStore) -> None:
    first, second = store.add(make_policy(1)), store.add(make_policy(2))
    assert first.id is not None and second.id is not None and second.id > first.id
    store.remove(second.id)
    assert store.add(make_policy(3)).id == second.id + 1


def test_list_filters_by_source_and_effective_target(store: PolicyStore) -> None:
    same_registry = store.add(make_policy(source_repository="dev/web", target_repository="qa/web"))
    other_registry = store.add(
        make_policy(source_repository="dev/web", target_repository="qa/web", target_profile="qa")
    )
    chained = store.add(make_policy(source_repository="qa/web", target_repository="prod/web"))
    elsewhere = store.add(make_policy(source_profile="other", source_repository="dev/web"))

    assert store.list() == [same_registry, other_registry, chained, elsewhere]
    assert store.list(source=Route("local", "dev/web")) == [same_registry, other_registry]
    assert store.list(source=Route("local", "qa/web")) == [chained]
    assert store.list(target=Route("local", "qa/web")) == [same_registry]
    assert store.list(target=Route("qa", "qa/web")) == [other_registry]
    assert store.list(source=Route("local", "dev/web"), target=Route("qa", "qa/web")) == [
        other_registry
    ]
    assert store.list(source=Route("nowhere", "dev/web")) == []


def test_update_refreshes_updated_at_and_keeps_creation_and_promotion(
    store: PolicyStore, clock: TickingClock
) -> None:
    added = store.add(make_policy(1))
    promoted_at = datetime(2026, 12, 1, tzinfo=UTC)
    store.mark_promoted(added.id, promoted_at)
    stale_copy = added.with_changes(tag_template="%n-qa", rules=(), created_at=None)

    updated = store.update(stale_copy)

    assert updated.tag_template == "%n-qa" and updated.rules == ()
    assert updated.created_at == added.created_at
    assert updated.updated_at == clock.now > added.updated_at
    assert updated.last_promoted_at == promoted_at
    assert store.get(added.id) == updated


def test_update_of_unknown_or_unsaved_policy(store: PolicyStore) -> None:
    with pytest.raises(PolicyNotFound, match="no policy with id 7"):
        store.update(make_policy(id=7))
    with pytest.raises(ValueError, match="has no id"):
        store.update(make_policy())
    assert store.list() == []


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get(7),
        lambda s: s.remove(7),
        lambda s: s.set_enabled(7, False),
        lambda s: s.mark_promoted(7, datetime(2026, 1, 1, tzinfo=UTC)),
    ],
    ids=["get", "remove", "set_enabled", "mark_promoted"],
)
def test_unknown_id_is_policy_not_found(store: PolicyStore, call: object) -> None:
    with pytest.raises(PolicyNotFound) as caught:
        call(store)  # type: ignore[operator]
    assert str(caught.value) == "no policy with id 7; `hoister policy list` shows them"
    assert caught.value.exit_code == 1


def test_remove_returns_the_policy_and_forgets_it(store: PolicyStore) -> None:
    keep, gone = store.add(make_policy(1)), store.add(make_policy(2))
    assert store.remove(gone.id) == gone
    assert store.list() == [keep]
    with pytest.raises(PolicyNotFound):
        store.get(gone.id)


def test_set_enabled(store: PolicyStore, clock: TickingClock) -> None:
    added = store.add(make_policy(1))
    disabled = store.set_enabled(added.id, False)
    assert disabled == added.with_changes(enabled=False, updated_at=clock.now, version=2)
    assert store.get(added.id).enabled is False
    assert store.set_enabled(added.id, True).enabled is True


def test_mark_promoted_never_moves_back(store: PolicyStore) -> None:
    added = store.add(make_policy(1))
    later = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    store.mark_promoted(added.id, later)
    store.mark_promoted(added.id, later - timedelta(hours=1))
    stored = store.get(added.id)
    assert stored.last_promoted_at == later
    assert stored.updated_at == added.updated_at  # a promotion is not an edit
    even_later = datetime(2026, 12, 2, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    store.mark_promoted(added.id, even_later)
    assert store.get(added.id).last_promoted_at == even_later


def _refuse_after(count: int) -> tuple[list[tuple[Policy, list[Policy]]], object]:
    seen: list[tuple[Policy, list[Policy]]] = []

    def check(policy: Policy, others: list[Policy]) -> None:
        seen.append((policy, others))
        if len(seen) > count:
            raise CycleError("would loop: dev/web -> qa/web -> dev/web", ["a", "b", "a"])

    return seen, check


def test_check_sees_existing_policies_and_can_refuse(store: PolicyStore) -> None:
    existing = store.add(make_policy(1))
    seen, check = _refuse_after(1)
    added = store.add(make_policy(2), check=check)  # type: ignore[arg-type]
    assert seen == [(make_policy(2), [existing])]

    with pytest.raises(CycleError):
        store.add(make_policy(3), check=check)  # type: ignore[arg-type]
    assert store.list() == [existing, added]


def test_refused_update_and_enable_write_nothing(store: PolicyStore) -> None:
    first, second = store.add(make_policy(1)), store.add(make_policy(2, enabled=False))
    seen, check = _refuse_after(0)
    with pytest.raises(CycleError):
        store.update(first.with_changes(target_repository="dev/app1"), check=check)  # type: ignore[arg-type]
    with pytest.raises(CycleError):
        store.set_enabled(second.id, True, check=check)  # type: ignore[arg-type]
    # An update is checked against the others, not against its own old version.
    assert [others for _, others in seen] == [[second], [first]]
    assert store.list() == [first, second]


def test_check_runs_while_the_write_lock_is_held(store: PolicyStore, database: Database) -> None:
    """No other writer can slip a policy in between the check and the insert."""
    if database.shared:
        _check_holds_the_policies_lock(store, database)
        return
    outcomes: list[str] = []

    def check(policy: Policy, others: list[Policy]) -> None:
        with database.connection() as other:
            other.execute("PRAGMA busy_timeout = 0")
            try:
                other.execute("DELETE FROM policies")
            except sqlite3.OperationalError as exc:
                outcomes.append(str(exc))

    store.add(make_policy(1), check=check)
    assert outcomes == ["database is locked"]


def _check_holds_the_policies_lock(store: PolicyStore, database: Database) -> None:
    """PostgreSQL: a second workstation's checked save waits for the first to commit,
    then its check sees the first one's policy (so two edits cannot build a loop)."""
    seen_by_second: list[list[str]] = []
    errors: list[BaseException] = []

    def second_save() -> None:
        try:
            with PolicyStore(database) as other:
                other.add(
                    make_policy(2), check=lambda p, o: seen_by_second.append([x.name for x in o])
                )
        except BaseException as exc:
            errors.append(exc)

    def waiting_for_the_lock() -> int:
        with database.connection() as conn:
            return int(
                conn.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                ).scalar()
            )

    def check(policy: Policy, others: list[Policy]) -> None:
        worker.start()
        deadline = time.monotonic() + 30
        while waiting_for_the_lock() == 0:  # a condition on the server, polled
            assert time.monotonic() < deadline, "the second save never waited"
            assert not errors, errors
        assert seen_by_second == []

    worker = threading.Thread(target=second_save)
    store.add(make_policy(1), check=check)
    worker.join(30)
    assert errors == []
    assert seen_by_second == [["policy 1"]]


def test_add_many_sees_the_batch_so_far(store: PolicyStore) -> None:
    existing = store.add(make_policy(0))
    seen, check = _refuse_after(10)
    added = store.add_many([make_policy(1), make_policy(2)], check=check)  # type: ignore[arg-type]
    assert [others for _, others in seen] == [[existing], [existing, added[0]]]
    assert store.list() == [existing, *added]


def test_add_many_is_all_or_nothing_when_a_check_fails(store: PolicyStore) -> None:
    existing = store.add(make_policy(0))
    seen, check = _refuse_after(2)
    with pytest.raises(CycleError):
        store.add_many([make_policy(n) for n in range(1, 6)], check=check)  # type: ignore[arg-type]
    assert len(seen) == 3
    assert store.list() == [existing]


def test_add_many_is_all_or_nothing_when_a_write_fails(store: PolicyStore) -> None:
    batch = [make_policy(n) for n in range(5)]
    batch[2] = batch[2].with_changes(last_promoted_at=datetime(2026, 1, 1))  # naive: refused
    with pytest.raises(ValueError, match="time zone"):
        store.add_many(batch)
    assert store.list() == []


def test_update_many_is_all_or_nothing(store: PolicyStore) -> None:
    originals = store.add_many([make_policy(n) for n in range(3)])
    changed = [p.with_changes(description="new") for p in originals]
    missing = make_policy(9, id=999)
    with pytest.raises(PolicyNotFound):
        store.update_many([changed[0], changed[1], missing, changed[2]])
    assert store.list() == originals
    assert [p.description for p in store.update_many(changed)] == ["new"] * 3


def test_removing_a_policy_keeps_history_and_drops_its_queue(
    store: PolicyStore, database: Database
) -> None:
    gone, kept = store.add(make_policy(1)), store.add(make_policy(2))
    now = "2026-11-30T09:05:03.123456+00:00"
    with database.connection() as conn:
        for policy in (gone, kept):
            conn.execute(
                "INSERT INTO history (policy_id, policy_name, source_profile, source_repository,"
                " source_tag, source_digest, target_profile, target_repository, target_tag,"
                " outcome, started_at, finished_at)"
                " VALUES (?, ?, 'local', 'dev/web', '1-stable', 'sha256:a', 'local', 'qa/web',"
                " '1-stable', 'promoted', ?, ?)",
                (policy.id, policy.name, now, now),
            )
            conn.execute(
                "INSERT INTO queue (policy_id, source_profile, source_repository, source_tag,"
                " source_digest, target_profile, target_repository, next_attempt_at,"
                " created_at, updated_at)"
                " VALUES (?, 'local', 'dev/web', '1-stable', 'sha256:a', 'local', 'qa/web',"
                " ?, ?, ?)",
                (policy.id, now, now, now),
            )

    store.remove(gone.id)

    with database.connection() as conn:
        history = conn.execute("SELECT policy_id, policy_name FROM history ORDER BY id").fetchall()
        queue = conn.execute("SELECT policy_id FROM queue").fetchall()
    assert [tuple(row) for row in history] == [(None, gone.name), (kept.id, kept.name)]
    assert [tuple(row) for row in queue] == [(kept.id,)]


def test_queue_promotes_a_policy_digest_and_tag_once(
    store: PolicyStore, database: Database
) -> None:
    policy = store.add(make_policy(1))
    insert = (
        "INSERT INTO queue (policy_id, source_profile, source_repository, source_tag,"
        " source_digest, target_profile, target_repository, next_attempt_at, created_at,"
        " updated_at) VALUES (?, 'local', 'dev/web', ?, ?, 'local', 'qa/web', 't', 't', 't')"
    )
    with database.connection() as conn:
        conn.execute(insert, (policy.id, "1-stable", "sha256:a"))
        conn.execute(insert, (policy.id, "1-stable", "sha256:b"))  # re-push: new digest
        unique = (sqlite3.IntegrityError, sqlalchemy.exc.IntegrityError)
        with pytest.raises(unique, match=r"(?i)unique"):
            conn.execute(insert, (policy.id, "1-stable", "sha256:a"))


def test_damaged_row_is_reported(store: PolicyStore, database: Database) -> None:
    added = store.add(make_policy(1))
    with database.connection() as conn:
        conn.execute("UPDATE policies SET rules = '[{oops' WHERE id = ?", (added.id,))
    with pytest.raises(HoisterError, match=f"policy {added.id} in the database cannot be read"):
        store.get(added.id)


def test_nul_is_refused_alike_on_both_backends(store: PolicyStore) -> None:
    """PostgreSQL cannot store NUL in text; SQLite could, so both refuse it in words."""
    with pytest.raises(InvalidInput, match="description contains a NUL character"):
        store.add(make_policy(1, description="before\x00after"))
    assert store.list() == []


MSR_ID = "4b1c0d7a-2c3e-4f0a-9c9c-1a2b3c4d5e6f"
NANO = "2026-11-02T10:11:12.123456789Z"
NANO_TIME = datetime(2026, 11, 2, 10, 11, 12, 123456, tzinfo=UTC)


def _create(store: PolicyStore, policy: Policy) -> Policy:
    [created], _, _ = store.apply(lambda stored: ([policy], [], []))
    return created


def test_an_import_keeps_msr_identity_and_an_add_does_not(store: PolicyStore) -> None:
    imported = make_policy(1, msr_id=MSR_ID, last_promoted_at=NANO_TIME, last_promoted_exact=NANO)
    created = _create(store, imported)
    assert (created.msr_id, created.last_promoted_exact) == (MSR_ID, NANO)
    assert store.get(created.id) == created
    # A copy made in the editor is another policy, not the MSR one it was copied from.
    copy = store.add(created.with_changes(id=None, name="copy"))
    assert copy.msr_id is None and copy.last_promoted_exact == NANO


def test_an_exact_time_that_no_longer_names_the_time_is_not_stored(store: PolicyStore) -> None:
    other = NANO_TIME + timedelta(seconds=1)
    created = _create(store, make_policy(1, last_promoted_at=other, last_promoted_exact=NANO))
    assert created.last_promoted_exact is None
    assert _create(store, make_policy(2, last_promoted_exact=NANO)).last_promoted_exact is None


def test_updates_keep_msr_id_and_the_later_promotion(store: PolicyStore) -> None:
    created = _create(store, make_policy(1, msr_id=MSR_ID))
    # apply (policies as code) sends no MSR id: the stored one stays.
    edited = store.update(created.with_changes(msr_id=None, tag_template="%n"))
    assert edited.msr_id == MSR_ID
    # A re-import that knows of a later promotion brings it, with its exact text.
    newer = store.update(edited.with_changes(last_promoted_at=NANO_TIME, last_promoted_exact=NANO))
    assert (newer.last_promoted_at, newer.last_promoted_exact) == (NANO_TIME, NANO)
    # An older copy (the editor's) moves nothing back.
    older = store.update(newer.with_changes(last_promoted_at=None, last_promoted_exact=None))
    assert (older.last_promoted_at, older.last_promoted_exact) == (NANO_TIME, NANO)
    assert store.get(created.id) == older


def test_a_promotion_replaces_the_exact_time(store: PolicyStore) -> None:
    created = _create(store, make_policy(1, last_promoted_at=NANO_TIME, last_promoted_exact=NANO))
    store.mark_promoted(created.id, NANO_TIME - timedelta(days=1))  # older: nothing moves
    assert store.get(created.id).last_promoted_exact == NANO
    later = NANO_TIME + timedelta(minutes=5)
    store.mark_promoted(created.id, later)
    stored = store.get(created.id)
    assert (stored.last_promoted_at, stored.last_promoted_exact) == (later, None)


def test_a_store_from_before_migration_6_keeps_its_policies(
    database: Database, store: PolicyStore
) -> None:
    """Taken back to schema 5 (no MSR identity), a store with a policy upgrades in place."""
    with database.connection() as conn, transaction(conn):
        conn.execute("DROP INDEX policies_msr_id")
        conn.execute("ALTER TABLE policies DROP COLUMN msr_id")
        conn.execute("ALTER TABLE policies DROP COLUMN last_promoted_exact")
        conn.execute("UPDATE alembic_version SET version_num = '0005'")
        if database.path is not None:
            conn.execute("PRAGMA user_version = 5")
        conn.execute(
            "INSERT INTO policies (name, source_profile, source_repository, target_repository,"
            " tag_template, created_at, updated_at, last_promoted_at)"
            " VALUES ('old', 'local', 'dev/a', 'qa/a', '%n', :t, :t, :t)",
            {"t": "2026-11-30T09:05:03.123456+00:00"},
        )
    assert database.migrate() == 6
    [old] = store.list()
    assert (old.name, old.msr_id, old.last_promoted_exact) == ("old", None, None)
    assert old.last_promoted_at == datetime(2026, 11, 30, 9, 5, 3, 123456, tzinfo=UTC)
    assert _create(store, make_policy(1, msr_id=MSR_ID)).msr_id == MSR_ID
