// Everything here runs as the extension's owner inside a launcher transaction. Timer and
// schedule rows are advanced in the same transaction that enqueues their messages, so a tick
// is enqueued exactly once whatever crashes; FOR UPDATE SKIP LOCKED keeps it so even if two
// launchers ever overlapped.
//
// Isolation: each schedule fires in its own subtransaction, and the timer batch in one, so one
// broken row never stops the others. A schedule that fails (a payload that cannot be opened,
// or sealed under a key that is not configured) skips that firing: it moves on to its next
// time, and the failure is logged once until the schedule fires again.
#include "bgworker/housekeeping.hpp"

#include "src/actor_lock.hpp"
#include "src/catalog.hpp"
#include "src/core/cron.hpp"
#include "src/keyring.hpp"
#include "src/mailbox.hpp"
#include "bgworker/process.hpp"
#include "src/sealed.hpp"
#include "src/settings.hpp"
#include "src/shared.hpp"
#include "src/spi_util.hpp"
#include "src/state_store.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/timestamp.h"
}

namespace spawn {

namespace {

// Reads a single bigint result, -1 when NULL.
long SingleLong(void) {
  bool isnull;
  Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  return isnull ? -1 : Max(static_cast<long>(DatumGetInt64(d)), 0L);
}

// Milliseconds until the smallest next_fire_at of a table.
long NextFireMs(const Catalog *cat, const char *table) {
  ExecuteAsOwner(cat,
                 psprintf("SELECT ceil(extract(epoch FROM min(next_fire_at) - clock_timestamp()) "
                          "* 1000)::bigint FROM %s",
                          table),
                 0, nullptr, nullptr, nullptr, true);
  return SingleLong();
}

}  // namespace

namespace {

// The timer batch, run in a subtransaction.
void EnqueueDueTicks(void *arg) {
  const Catalog *cat = static_cast<const Catalog *>(arg);
  ExecuteAsOwner(cat,
                 "WITH due AS (SELECT system, actor, action, every_ms, next_fire_at "
                 "  FROM spawn._timers WHERE next_fire_at <= now() ORDER BY next_fire_at "
                 "  LIMIT 1000 FOR UPDATE SKIP LOCKED), "
                 "advanced AS (UPDATE spawn._timers t SET next_fire_at = d.next_fire_at + "
                 "  (floor(extract(epoch FROM now() - d.next_fire_at) * 1000 / d.every_ms) + 1) "
                 "  * d.every_ms * interval '1 millisecond' FROM due d "
                 "  WHERE t.system = d.system AND t.actor = d.actor AND t.action = d.action "
                 "  RETURNING t.system, t.actor, t.action) "
                 "INSERT INTO spawn._mailbox (system, actor, action, source, deliver_at, run_as) "
                 "SELECT a.system, a.actor, a.action, 'timer', clock_timestamp(), d.registered_by "
                 "FROM advanced a JOIN spawn._instances i ON i.system = a.system "
                 "AND i.name = a.actor JOIN spawn._definitions d ON d.id = i.definition_id",
                 0, nullptr, nullptr, nullptr, false);
}

}  // namespace

// Enqueues due timer ticks.
void FireTimers(Catalog *cat, void *arg) {
  auto *result = static_cast<FireResult *>(arg);
  ErrorData *error;
  if (RunSubtransaction(EnqueueDueTicks, const_cast<Catalog *>(cat), &error)) {
    result->fired = static_cast<int>(SPI_processed);
  } else {
    // Logged by RunTransaction's rule: once, then again after a minute at the earliest.
    ReThrowError(error);
  }
  if (result->fired > 0) WakeWorkersAtCommit();
  result->next_ms = NextFireMs(cat, "spawn._timers");
}

namespace {

// One due schedule.
struct DueSchedule {
  const Catalog *cat;
  int64 id;
  Message message;
  const char *cron;
  bool sealed;
  SealedValue payload;
  int64 now_s;
};

// Schedules whose last firing failed, so that a failure is logged once (launcher memory).
constexpr int kMaxBrokenSchedules = 64;
int64 broken_schedules[kMaxBrokenSchedules];

// Records whether schedule `id` failed; true when that is news (to log).
bool NoteScheduleOutcome(int64 id, bool failed) {
  int free_entry = -1;
  for (int i = 0; i < kMaxBrokenSchedules; ++i) {
    if (broken_schedules[i] == id) {
      if (!failed) broken_schedules[i] = 0;
      return !failed;
    }
    if (broken_schedules[i] == 0 && free_entry < 0) free_entry = i;
  }
  if (failed && free_entry >= 0) broken_schedules[free_entry] = id;
  return failed;
}

// Moves a schedule to its next time (or ends one that never matches again).
void AdvanceSchedule(const DueSchedule *due) {
  const int64 next = cron::NextAfter(due->cron, due->now_s);
  Oid types[2] = {INT8OID, INT8OID};
  Datum values[2] = {Int64GetDatum(due->id), Int64GetDatum(next)};
  if (next < 0)
    ExecuteAsOwner(due->cat, "DELETE FROM spawn._schedules WHERE id = $1", 1, types, values,
                   nullptr, false);
  else
    ExecuteAsOwner(due->cat,
                   "UPDATE spawn._schedules SET next_fire_at = to_timestamp($2) WHERE id = $1", 2,
                   types, values, nullptr, false);
}

// Opens the payload, enqueues the message and advances the schedule (in a subtransaction).
void FireOne(void *arg) {
  auto *due = static_cast<DueSchedule *>(arg);
  if (due->sealed) {
    if (!KeyringHasKey(due->payload.key_id))
      ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                      errmsg("the payload of schedule %lld was sealed under key id %lld, which is "
                             "not configured",
                             static_cast<long long>(due->id),
                             static_cast<long long>(due->payload.key_id))));
    due->message.payload = OpenJsonb(
        MakeBinding("schedule", due->message.system, due->message.actor, due->id), due->payload,
        psprintf("payload of schedule %lld", static_cast<long long>(due->id)));
  }
  Enqueue(due->cat, &due->message);
  AdvanceSchedule(due);
}

// Skips a firing that failed: the schedule moves on (in its own subtransaction too).
void SkipOne(void *arg) {
  AdvanceSchedule(static_cast<DueSchedule *>(arg));
}

}  // namespace

// Enqueues due schedules with their payloads and advances them, each in a subtransaction.
void FireSchedules(Catalog *cat, void *arg) {
  auto *result = static_cast<FireResult *>(arg);
  ExecuteAsOwner(
      cat,
      "SELECT id, system, actor, action, cron, key_id, nonce, payload, "
      "extract(epoch FROM now())::bigint, run_as FROM spawn._schedules "
      "WHERE next_fire_at <= now() ORDER BY next_fire_at LIMIT 100 FOR UPDATE SKIP LOCKED",
      0, nullptr, nullptr, nullptr, false);
  SPITupleTable *rows = SPI_tuptable;
  const int count = static_cast<int>(SPI_processed);
  auto *due = static_cast<DueSchedule *>(palloc0(sizeof(DueSchedule) * (count > 0 ? count : 1)));
  for (int i = 0; i < count; ++i) {
    HeapTuple row = rows->vals[i];
    TupleDesc desc = rows->tupdesc;
    bool isnull;
    DueSchedule *d = &due[i];
    d->cat = cat;
    d->id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
    d->message.system = SPI_getvalue(row, desc, 2);
    d->message.actor = SPI_getvalue(row, desc, 3);
    d->message.action = SPI_getvalue(row, desc, 4);
    d->cron = SPI_getvalue(row, desc, 5);
    Datum key_id = SPI_getbinval(row, desc, 6, &isnull);
    d->sealed = !isnull;
    if (d->sealed)
      d->payload = SealedValue{DatumGetInt64(key_id),
                               DatumGetByteaPCopy(SPI_getbinval(row, desc, 7, &isnull)),
                               DatumGetByteaPCopy(SPI_getbinval(row, desc, 8, &isnull))};
    d->now_s = DatumGetInt64(SPI_getbinval(row, desc, 9, &isnull));
    d->message.source = "schedule";
    // The schedule's creator: its message runs with that role's privileges.
    d->message.run_as = DatumGetObjectId(SPI_getbinval(row, desc, 10, &isnull));
    d->message.deliver_at = GetCurrentTimestamp();
  }
  for (int i = 0; i < count; ++i) {
    ErrorData *error;
    const bool fired = RunSubtransaction(FireOne, &due[i], &error);
    if (fired) {
      ++result->fired;
      if (NoteScheduleOutcome(due[i].id, false))
        ereport(LOG,
                (errmsg("spawn: schedule %lld fires again", static_cast<long long>(due[i].id))));
      continue;
    }
    if (NoteScheduleOutcome(due[i].id, true))
      ereport(WARNING,
              (errmsg("spawn: schedule %lld (action \"%s\" of actor \"%s\") could not fire: %s",
                      static_cast<long long>(due[i].id), due[i].message.action,
                      due[i].message.actor, error->message),
               errdetail("The schedule skips its firings until it can fire again; the other "
                         "schedules go on. This is logged once."),
               errhint("Fix the cause, or remove it with spawn.unschedule(%lld).",
                       static_cast<long long>(due[i].id))));
    FreeErrorData(error);
    ErrorData *skip_error;
    if (!RunSubtransaction(SkipOne, &due[i], &skip_error)) FreeErrorData(skip_error);
  }
  result->next_ms = NextFireMs(cat, "spawn._schedules");
}

// Deactivates idle instances whose lock is free.
void DeactivateIdle(Catalog *cat, void *arg) {
  int *deactivated = static_cast<int *>(arg);
  ExecuteAsOwner(
      cat,
      "SELECT i.system, i.name, (now() - d.deactivate_timeout * interval '1 millisecond') "
      "FROM spawn._instances i JOIN spawn._definitions d ON d.id = i.definition_id "
      "WHERE i.status = 'active' AND d.kind <> 'pooled' AND d.timers = '[]' "
      "AND i.last_activity < now() - d.deactivate_timeout * interval '1 millisecond' "
      "LIMIT 1000",
      0, nullptr, nullptr, nullptr, true);
  SPITupleTable *rows = SPI_tuptable;
  const int count = static_cast<int>(SPI_processed);
  for (int i = 0; i < count; ++i) {
    const char *system = SPI_getvalue(rows->vals[i], rows->tupdesc, 1);
    const char *name = SPI_getvalue(rows->vals[i], rows->tupdesc, 2);
    bool isnull;
    const TimestampTz idle_before =
        DatumGetTimestampTz(SPI_getbinval(rows->vals[i], rows->tupdesc, 3, &isnull));
    if (!ActorLockAcquire(system, name, false)) continue;
    InstanceRow row;
    if (!StateFetch(cat, system, name, &row) || !row.active || row.last_activity >= idle_before)
      continue;
    StateDeactivate(cat, &row);
    ++*deactivated;
  }
}

// Snapshots states that changed since their last snapshot, at most once per snapshot_timeout,
// each under its actor's lock (skipping actors in use), so the row's snapshot mark never races
// an invocation.
void TakeSnapshots(Catalog *cat, void *arg) {
  int *taken = static_cast<int *>(arg);
  ExecuteAsOwner(cat,
                 "SELECT i.system, i.name FROM spawn._instances i "
                 "JOIN spawn._definitions d ON d.id = i.definition_id "
                 "WHERE i.ciphertext IS NOT NULL AND i.revision > i.snapshot_revision "
                 "AND NOT EXISTS (SELECT 1 FROM spawn._history h WHERE h.system = i.system "
                 "  AND h.actor = i.name "
                 "  AND h.recorded_at > now() - d.snapshot_timeout * interval '1 millisecond') "
                 "LIMIT 1000",
                 0, nullptr, nullptr, nullptr, true);
  const int count = static_cast<int>(SPI_processed);
  auto **names = static_cast<char **>(palloc(sizeof(char *) * 2 * (count + 1)));
  for (int i = 0; i < count; ++i) {
    names[2 * i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
    names[2 * i + 1] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
  }
  for (int i = 0; i < count; ++i) {
    const char *system = names[2 * i];
    const char *name = names[2 * i + 1];
    if (!ActorLockAcquire(system, name, false)) continue;
    InstanceRow row;
    if (!StateFetch(cat, system, name, &row) || !row.has_state ||
        row.revision <= row.snapshot_revision)
      continue;
    Oid types[6] = {TEXTOID, TEXTOID, INT8OID, INT8OID, BYTEAOID, BYTEAOID};
    Datum values[6] = {CStringGetTextDatum(system), CStringGetTextDatum(name),
                       Int64GetDatum(row.revision), Int64GetDatum(row.key_id),
                       PointerGetDatum(row.nonce),  PointerGetDatum(row.ciphertext)};
    ExecuteAsOwner(
        cat,
        "INSERT INTO spawn._history (system, actor, revision, key_id, nonce, ciphertext) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        6, types, values, nullptr, false);
    StateMarkSnapshotted(cat, &row);
    ++*taken;
  }
}

// Deletes what is past its retention.
void ApplyRetention(Catalog *cat, void *) {
  Oid types[4] = {INT4OID, INT4OID, INT4OID, INT4OID};
  Datum values[4] = {
      Int32GetDatum(setting_reply_retention_s), Int32GetDatum(setting_history_retention_s),
      Int32GetDatum(setting_journal_retention_s), Int32GetDatum(setting_idempotency_retention_s)};
  // A replay of an actor's current revision starts from its newest snapshot below that revision
  // (its base): snapshots from the base on, and journal entries after it, are always kept.
  ExecuteAsOwner(
      cat,
      "WITH replies AS (DELETE FROM spawn._replies "
      "  WHERE completed_at < now() - $1 * interval '1 second'), "
      "keys AS (DELETE FROM spawn._idempotency_keys "
      "  WHERE created_at < now() - $4 * interval '1 second'), "
      "journal AS (DELETE FROM spawn._journal j WHERE $3 > 0 "
      "  AND j.recorded_at < now() - $3 * interval '1 second' "
      "  AND j.revision <= (SELECT max(x.revision) FROM spawn._history x "
      "    JOIN spawn._instances i ON i.system = x.system AND i.name = x.actor "
      "    WHERE x.system = j.system AND x.actor = j.actor AND x.revision < i.revision)) "
      "DELETE FROM spawn._history h WHERE h.recorded_at < now() - $2 * interval '1 second' "
      "AND h.revision < (SELECT max(x.revision) FROM spawn._history x "
      "  JOIN spawn._instances i ON i.system = x.system AND i.name = x.actor "
      "  WHERE x.system = h.system AND x.actor = h.actor AND x.revision < i.revision)",
      4, types, values, nullptr, false);
}

}  // namespace spawn
