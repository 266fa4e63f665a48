// Everything here runs as the extension's owner inside a launcher transaction. Timer and
// schedule rows are advanced in the same transaction that enqueues their messages, so a tick
// is enqueued exactly once whatever crashes; FOR UPDATE SKIP LOCKED keeps it so even if two
// launchers ever overlapped.
#include "housekeeping.hpp"

#include "actor_lock.hpp"
#include "catalog.hpp"
#include "cron.hpp"
#include "mailbox.hpp"
#include "sealed.hpp"
#include "settings.hpp"
#include "shared.hpp"
#include "spi_util.hpp"
#include "state_store.hpp"

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

// Enqueues due timer ticks.
void FireTimers(void *arg) {
  auto *result = static_cast<FireResult *>(arg);
  const Catalog *cat = CatalogAcquire();
  CatalogRelease();
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
  result->fired = static_cast<int>(SPI_processed);
  if (result->fired > 0) WakeWorkersAtCommit();
  result->next_ms = NextFireMs(cat, "spawn._timers");
}

// Enqueues due schedules with their payloads and advances them.
void FireSchedules(void *arg) {
  auto *result = static_cast<FireResult *>(arg);
  const Catalog *cat = CatalogAcquire();
  CatalogRelease();
  ExecuteAsOwner(
      cat,
      "SELECT id, system, actor, action, cron, key_id, nonce, payload, "
      "extract(epoch FROM now())::bigint, run_as FROM spawn._schedules "
      "WHERE next_fire_at <= now() ORDER BY next_fire_at LIMIT 100 FOR UPDATE SKIP LOCKED",
      0, nullptr, nullptr, nullptr, false);
  SPITupleTable *rows = SPI_tuptable;
  const int count = static_cast<int>(SPI_processed);
  for (int i = 0; i < count; ++i) {
    HeapTuple row = rows->vals[i];
    TupleDesc desc = rows->tupdesc;
    bool isnull;
    const int64 id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
    Message m{};
    m.system = SPI_getvalue(row, desc, 2);
    m.actor = SPI_getvalue(row, desc, 3);
    m.action = SPI_getvalue(row, desc, 4);
    const char *cron = SPI_getvalue(row, desc, 5);
    Datum key_id = SPI_getbinval(row, desc, 6, &isnull);
    if (!isnull) {
      SealedValue sealed{DatumGetInt64(key_id),
                         DatumGetByteaPCopy(SPI_getbinval(row, desc, 7, &isnull)),
                         DatumGetByteaPCopy(SPI_getbinval(row, desc, 8, &isnull))};
      m.payload = OpenJsonb(MakeBinding("schedule", m.system, m.actor, id), sealed,
                            psprintf("payload of schedule %lld", static_cast<long long>(id)));
    }
    const int64 now_s = DatumGetInt64(SPI_getbinval(row, desc, 9, &isnull));
    m.source = "schedule";
    m.run_as = DatumGetObjectId(SPI_getbinval(row, desc, 10, &isnull));
    m.deliver_at = GetCurrentTimestamp();
    Enqueue(cat, &m);
    const int64 next = cron::NextAfter(cron, now_s);
    // An expression that never matches again (e.g. a date that has passed) ends its schedule.
    Oid types[2] = {INT8OID, INT8OID};
    Datum values[2] = {Int64GetDatum(id), Int64GetDatum(next)};
    if (next < 0)
      ExecuteAsOwner(cat, "DELETE FROM spawn._schedules WHERE id = $1", 1, types, values, nullptr,
                     false);
    else
      ExecuteAsOwner(cat,
                     "UPDATE spawn._schedules SET next_fire_at = to_timestamp($2) WHERE id = $1", 2,
                     types, values, nullptr, false);
    ++result->fired;
  }
  result->next_ms = NextFireMs(cat, "spawn._schedules");
}

// Deactivates idle instances whose lock is free.
void DeactivateIdle(void *arg) {
  int *deactivated = static_cast<int *>(arg);
  const Catalog *cat = CatalogAcquire();
  CatalogRelease();
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
void TakeSnapshots(void *arg) {
  int *taken = static_cast<int *>(arg);
  const Catalog *cat = CatalogAcquire();
  CatalogRelease();
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
void ApplyRetention(void *) {
  const Catalog *cat = CatalogAcquire();
  CatalogRelease();
  Oid types[3] = {INT4OID, INT4OID, INT4OID};
  Datum values[3] = {Int32GetDatum(setting_reply_retention_s),
                     Int32GetDatum(setting_history_retention_s),
                     Int32GetDatum(setting_journal_retention_s)};
  // A replay of an actor's current revision starts from its newest snapshot below that revision
  // (its base): snapshots from the base on, and journal entries after it, are always kept.
  ExecuteAsOwner(
      cat,
      "WITH replies AS (DELETE FROM spawn._replies "
      "  WHERE completed_at < now() - $1 * interval '1 second'), "
      "journal AS (DELETE FROM spawn._journal j WHERE $3 > 0 "
      "  AND j.recorded_at < now() - $3 * interval '1 second' "
      "  AND j.revision <= (SELECT max(x.revision) FROM spawn._history x "
      "    JOIN spawn._instances i ON i.system = x.system AND i.name = x.actor "
      "    WHERE x.system = j.system AND x.actor = j.actor AND x.revision < i.revision)) "
      "DELETE FROM spawn._history h WHERE h.recorded_at < now() - $2 * interval '1 second' "
      "AND h.revision < (SELECT max(x.revision) FROM spawn._history x "
      "  JOIN spawn._instances i ON i.system = x.system AND i.name = x.actor "
      "  WHERE x.system = h.system AND x.actor = h.actor AND x.revision < i.revision)",
      3, types, values, nullptr, false);
}

}  // namespace spawn
