// The sweeps read only what an index hands them (issue 17: idle means idle):
//  - deactivation and snapshots start from the active instances (the partial index
//    _instances_active on (definition_id, name): only activation and deactivation change
//    status, so invokes stay HOT updates), per definition, leaving out those that never
//    deactivate (timers); an instance is active only after it was used, so the work follows
//    the actors that were used; each sweep walks that index in passes, batch after batch from
//    where the previous one stopped (SweepCursor), so a backlog is read once, not once per batch;
//  - a snapshot of an actor's current revision is its row (snapshot_revision = revision): the
//    sweeps mark it, never copy it; the write that replaces it copies it into history;
//  - whether an actor's last snapshot is recent is one probe of history's primary key at the
//    row's snapshot_revision (a due actor has a newer revision, so that snapshot was copied
//    into history by the write that replaced it), never a join with the whole history;
//  - a changed state is snapshotted before its instance is deactivated, so inactive instances
//    never need a look;
//  - retention looks at the history and journal rows whose time passed the retention since the
//    last sweep (a window on their recorded_at index, its end kept in spawn._sweep_marks at most
//    once a minute); a row kept then as a replay base becomes deletable only when a newer
//    snapshot becomes the base, and each new snapshot prunes its own actor's old rows.
// Every statement runs as the extension's owner with plans that prefer indexes. The per-actor
// statements and the batch selections are prepared once per launcher (parsing and planning
// them per actor cost more than the work). One transaction deals with one batch of at most 100
// actors: each of their rows stays locked by it until it commits, so an invoke of one of them
// waits at most one short batch. A backlog (a burst of actors going idle at once) is worked off
// in back-to-back batches, each its own transaction, within a time budget per sweep
// (SweepBatches), so it is done in seconds, not at one batch per housekeeping interval.
#include "bgworker/sweeps.hpp"

#include "bgworker/process.hpp"
#include "src/actor_lock.hpp"
#include "src/catalog.hpp"
#include "src/invoke.hpp"
#include "src/settings.hpp"
#include "src/spi_util.hpp"
#include "src/state_store.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

namespace spawn {

namespace {

// How many actors one batch (one transaction) selects, and how long one sweep may keep taking
// batches.
constexpr int kBatchActors = 100;
constexpr long kSweepBudgetMs = 400;

// Before the row becomes the snapshot of its revision (the caller marks it; no copy: the
// write that replaces the revision copies it into history, history.hpp), prunes the actor's
// older snapshots and journal entries past retention.
void PruneBeforeSnapshot(const Catalog *cat, const InstanceRow *row) {
  // An actor never snapshotted before (snapshot_revision 0) has no older snapshot, so no
  // replay base and nothing to prune: the first snapshot of each actor of a burst saves the
  // statement below.
  if (row->snapshot_revision == 0) return;
  // The replay base is the newest snapshot below the current revision: older rows past their
  // retention go (journal entries up to the base too), through the primary keys.
  static SPIPlanPtr prune = nullptr;
  Oid prune_types[5] = {TEXTOID, TEXTOID, INT8OID, INT4OID, INT4OID};
  Datum prune_values[5] = {CStringGetTextDatum(row->system), CStringGetTextDatum(row->name),
                           Int64GetDatum(row->revision), Int32GetDatum(setting_history_retention_s),
                           Int32GetDatum(setting_journal_retention_s)};
  PrepareKept(&prune,
              "WITH base AS (SELECT max(x.revision) AS revision FROM spawn._history x "
              "  WHERE x.system = $1 AND x.actor = $2 AND x.revision < $3), "
              "journal AS (DELETE FROM spawn._journal j WHERE $5 > 0 AND j.system = $1 "
              "  AND j.actor = $2 AND j.recorded_at < now() - $5 * interval '1 second' "
              "  AND j.revision <= (SELECT revision FROM base)) "
              "DELETE FROM spawn._history h WHERE h.system = $1 AND h.actor = $2 "
              "AND h.recorded_at < now() - $4 * interval '1 second' "
              "AND h.revision < (SELECT revision FROM base)",
              5, prune_types);
  ExecutePlanAsOwner(cat, prune, prune_values, nullptr, false, 0, true);
}

// Where a sweep's pass through the active instances stands: batches select in the order of
// _instances_active, (definition_id, name), after the last instance of the previous batch (the
// selections' nested loops produce that order; were a plan ever to produce another, a pass would
// pass over some actors, which the next pass finds: later, never lost), so
// a backlog is read once (rows already dealt with, or skipped because in use, are not read
// again by every later batch: that made a burst's backlog quadratic). A short batch ends the
// pass; the next starts from the beginning, where skipped actors are found again.
// A pass's last batch reads every active instance after the cursor that is not due, and the
// next pass reads them again: it starts no sooner than kPassSpacing times that batch's
// duration later (at least the housekeeping interval), so reading a large active set that is
// not yet due costs at most 1/kPassSpacing of a core. With 100,000 active actors, actors become
// due at most about ten seconds late; with hundreds, milliseconds; none is ever skipped.
struct SweepCursor {
  int32 definition_id;    // 0 and "": the start of a pass
  char *name;             // in TopMemoryContext
  bool backlog;           // the last batch was full: the pass goes on
  TimestampTz next_pass;  // when the next pass may start
};
constexpr int kPassSpacing = 20;

SweepCursor deactivation_cursor{0, nullptr, false, 0};
SweepCursor snapshot_cursor{0, nullptr, false, 0};

// The cursor's position as the selections' parameters $1 (integer) and $2 (text).
void CursorValues(const SweepCursor *cursor, Datum *values) {
  values[0] = Int32GetDatum(cursor->definition_id);
  values[1] = CStringGetTextDatum(cursor->name != nullptr ? cursor->name : "");
}

// Moves the cursor past the last row of a batch of `selected` (columns: definition_id at
// `id_column`, name at 2), or back to the start when the batch was short.
void AdvanceCursor(SweepCursor *cursor, SPITupleTable *batch, int selected, int id_column) {
  if (cursor->name != nullptr) pfree(cursor->name);
  cursor->name = nullptr;
  cursor->definition_id = 0;
  cursor->backlog = selected == kBatchActors;
  if (!cursor->backlog) return;
  bool isnull;
  HeapTuple last = batch->vals[selected - 1];
  cursor->definition_id = DatumGetInt32(SPI_getbinval(last, batch->tupdesc, id_column, &isnull));
  cursor->name = MemoryContextStrdup(TopMemoryContext, SPI_getvalue(last, batch->tupdesc, 2));
}

// Selects a sweep's next batch (system, name, due_before, definition_id) from the cursor on:
// per definition passing `definitions` (ordered by id), its active instances passing `due` in
// name order, both through indexes, so a batch reads only the rows after the previous batch's
// last. `timeout` is the expression over the definition `d` that makes due_before (now minus
// it, in milliseconds). Prepared once per launcher into *slot; not read-only: a fresh
// snapshot, which sees what the previous batch committed. Returns how many were selected (in
// SPI_tuptable) and advances the cursor.
int SelectBatch(const Catalog *cat, SPIPlanPtr *slot, const char *timeout, const char *definitions,
                const char *due, SweepCursor *cursor) {
  Oid types[2] = {INT4OID, TEXTOID};
  if (*slot == nullptr)
    PrepareKept(slot,
                psprintf("SELECT i.system, i.name, d.due_before, d.id FROM "
                         "(SELECT d.id, now() - (%s) * interval '1 millisecond' AS due_before "
                         "  FROM spawn._definitions d WHERE d.id >= $1 AND %s ORDER BY d.id) d, "
                         "LATERAL (SELECT i.system, i.name FROM spawn._instances i "
                         "  WHERE i.definition_id = d.id AND i.active "
                         "  AND i.name > CASE WHEN d.id = $1 THEN $2 ELSE '' END AND %s "
                         "  ORDER BY i.name LIMIT %d) i LIMIT %d",
                         timeout, definitions, due, kBatchActors, kBatchActors),
                2, types);
  Datum values[2];
  CursorValues(cursor, values);
  ExecutePlanAsOwner(cat, *slot, values, nullptr, false, 0, true);
  const int selected = static_cast<int>(SPI_processed);
  AdvanceCursor(cursor, SPI_tuptable, selected, 4);
  return selected;
}

// A failed batch starts its sweep's next pass from the beginning.
void ResetCursor(SweepCursor *cursor) {
  if (cursor->name != nullptr) pfree(cursor->name);
  *cursor = SweepCursor{0, nullptr, false, 0};
}

// Claims each actor of the last SPI result (columns 1 and 2: system, name) without waiting,
// skipping those in use, and runs `fn` on its row (with the result's row number), then lets
// the actor's lock go: the launcher keeps no actor locked past its row's update.
void ClaimEach(const Catalog *cat, void (*fn)(const Catalog *, InstanceRow *, int, void *),
               void *arg) {
  const int count = static_cast<int>(SPI_processed);
  auto **names = static_cast<char **>(palloc(sizeof(char *) * 2 * (count + 1)));
  for (int i = 0; i < count; ++i) {
    names[2 * i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
    names[2 * i + 1] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
  }
  for (int i = 0; i < count; ++i) {
    InstanceRow row;
    ActorLockHold hold;
    if (!ActorTryClaim(cat, names[2 * i], names[2 * i + 1], &row, &hold)) continue;
    if (row.exists) fn(cat, &row, i, arg);
    ActorLockLetGo(&hold);
  }
}

// What DeactivateIdle hands to each claimed actor.
struct Deactivation {
  TimestampTz *idle_before;  // per result row: deactivate if last used before then
  int deactivated;
};

// Deactivates one claimed instance if it is still idle, snapshotting a changed state first.
void DeactivateOne(const Catalog *cat, InstanceRow *row, int index, void *arg) {
  auto *work = static_cast<Deactivation *>(arg);
  if (!row->active || row->last_activity >= work->idle_before[index]) return;
  const bool changed = row->has_state && row->revision > row->snapshot_revision;
  if (changed) PruneBeforeSnapshot(cat, row);
  StateDeactivate(cat, row, changed);
  ++work->deactivated;
}

// Snapshots one claimed instance if its state still changed since its last snapshot.
void SnapshotOne(const Catalog *cat, InstanceRow *row, int, void *arg) {
  if (!row->has_state || row->revision <= row->snapshot_revision) return;
  PruneBeforeSnapshot(cat, row);
  StateMarkSnapshotted(cat, row);
  ++*static_cast<int *>(arg);
}

}  // namespace

// Deactivates idle instances whose lock is free, snapshotting changed states first.
void DeactivateIdle(Catalog *cat, void *arg) {
  int *deactivated = static_cast<int *>(arg);
  static SPIPlanPtr idle = nullptr;
  // last_activity lags by less than kActivityGranularityMs (state_store.hpp), the 1000 below:
  // an actor is deactivated only once it was idle for at least its deactivate_timeout.
  static_assert(kActivityGranularityMs == 1000, "the idle query adds 1000 ms");
  const int selected = SelectBatch(cat, &idle, "d.deactivate_timeout + 1000",
                                   "d.kind <> 'pooled' AND d.timers = '[]'",
                                   "i.last_activity < d.due_before", &deactivation_cursor);
  SPITupleTable *batch = SPI_tuptable;
  Deactivation work{static_cast<TimestampTz *>(palloc(sizeof(TimestampTz) * (selected + 1))), 0};
  for (int i = 0; i < selected; ++i) {
    bool isnull;
    work.idle_before[i] =
        DatumGetTimestampTz(SPI_getbinval(batch->vals[i], batch->tupdesc, 3, &isnull));
  }
  ClaimEach(cat, DeactivateOne, &work);
  *deactivated += work.deactivated;
}

// Snapshots active states that changed since their last snapshot, at most once per
// snapshot_timeout, each under its actor's lock (skipping actors in use), so the row's
// snapshot mark never races an invocation.
void TakeSnapshots(Catalog *cat, void *arg) {
  int *taken = static_cast<int *>(arg);
  static SPIPlanPtr due = nullptr;
  SelectBatch(
      cat, &due, "d.snapshot_timeout", "d.stateful",
      "i.ciphertext IS NOT NULL AND i.revision > i.snapshot_revision "
      "AND coalesce((SELECT h.recorded_at FROM spawn._history h WHERE h.system = i.system "
      "  AND h.actor = i.name AND h.revision = i.snapshot_revision), '-infinity') <= d.due_before",
      &snapshot_cursor);
  int batch_taken = 0;
  ClaimEach(cat, SnapshotOne, &batch_taken);
  *taken += batch_taken;
}

// Runs `sweep` one batch per transaction while its pass goes on and the budget lasts.
bool SweepBatches(const char *what, void (*sweep)(Catalog *, void *), int *count,
                  SweepCursor *cursor) {
  const TimestampTz started = GetCurrentTimestamp();
  if (!cursor->backlog && started < cursor->next_pass) return true;
  TimestampTz batch_started;
  bool ok;
  do {
    batch_started = GetCurrentTimestamp();
    ok = RunCatalogTransaction(what, sweep, count);
  } while (ok && cursor->backlog &&
           !TimestampDifferenceExceeds(started, GetCurrentTimestamp(), kSweepBudgetMs));
  if (!ok) {
    ResetCursor(cursor);
  } else if (!cursor->backlog) {
    const TimestampTz ended = GetCurrentTimestamp();
    cursor->next_pass = ended + kPassSpacing * (ended - batch_started);
  }
  return ok;
}

// Deactivation batches within the budget.
bool SweepDeactivations(int *deactivated) {
  return SweepBatches("deactivating idle actors", DeactivateIdle, deactivated,
                      &deactivation_cursor);
}

// Snapshot batches within the budget.
bool SweepSnapshots(int *taken) {
  return SweepBatches("taking snapshots", TakeSnapshots, taken, &snapshot_cursor);
}

// Whether either sweep's pass is unfinished.
bool SweepsHaveBacklog() {
  return deactivation_cursor.backlog || snapshot_cursor.backlog;
}

namespace {

// How far a retention sweep has looked: rows recorded before done_until were examined.
struct RetentionMark {
  const char *sweep;  // its row in spawn._sweep_marks
  bool loaded;
  TimestampTz done_until;
  TimestampTz persisted;  // the value in spawn._sweep_marks
};

RetentionMark history_mark{"history", false, DT_NOBEGIN, DT_NOBEGIN};
RetentionMark journal_mark{"journal", false, DT_NOBEGIN, DT_NOBEGIN};

// Reads the mark once per launcher (a fresh database has none: everything is looked at once).
void LoadMark(const Catalog *cat, RetentionMark *mark) {
  if (mark->loaded) return;
  Oid types[1] = {TEXTOID};
  Datum values[1] = {CStringGetTextDatum(mark->sweep)};
  ExecuteAsOwner(cat, "SELECT done_until FROM spawn._sweep_marks WHERE sweep = $1", 1, types,
                 values, nullptr, true);
  bool isnull = true;
  Datum until = SPI_processed > 0
                    ? SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)
                    : static_cast<Datum>(0);
  mark->done_until = mark->persisted = isnull ? DT_NOBEGIN : DatumGetTimestampTz(until);
  mark->loaded = true;
}

// Advances the mark; writes it down when it moved by more than a minute (a restart then looks
// at one minute again, which is harmless: the deletes are idempotent).
void AdvanceMark(const Catalog *cat, RetentionMark *mark, TimestampTz until) {
  if (until <= mark->done_until) return;
  if (TimestampDifferenceExceeds(mark->persisted, until, 60 * 1000) ||
      mark->persisted == DT_NOBEGIN) {
    Oid types[2] = {TEXTOID, TIMESTAMPTZOID};
    Datum values[2] = {CStringGetTextDatum(mark->sweep), TimestampTzGetDatum(until)};
    ExecuteAsOwner(cat,
                   "INSERT INTO spawn._sweep_marks (sweep, done_until) VALUES ($1, $2) "
                   "ON CONFLICT (sweep) DO UPDATE SET done_until = excluded.done_until",
                   2, types, values, nullptr, false);
    mark->persisted = until;
  }
  mark->done_until = until;
}

}  // namespace

// Forgets the marks after a failed sweep: the next one starts from what was written down.
void RetentionForgetMarks() {
  history_mark.loaded = journal_mark.loaded = false;
}

// Deletes expired replies and idempotency keys, and the history and journal rows that expired since
// the last sweep.
void ApplyRetention(Catalog *cat, void *) {
  const TimestampTz now = GetCurrentTransactionStartTimestamp();
  Oid reply_types[1] = {INT4OID};
  Datum reply_values[1] = {Int32GetDatum(setting_reply_retention_s)};
  ExecuteAsOwner(cat,
                 "DELETE FROM spawn._replies WHERE completed_at < now() - $1 * interval '1 second'",
                 1, reply_types, reply_values, nullptr, false, true);
  Datum key_values[1] = {Int32GetDatum(setting_idempotency_retention_s)};
  ExecuteAsOwner(cat,
                 "DELETE FROM spawn._idempotency_keys "
                 "WHERE created_at < now() - $1 * interval '1 second'",
                 1, reply_types, key_values, nullptr, false, true);
  // A replay of an actor's current revision starts from its newest snapshot below that
  // revision (its base): snapshots from the base on, and journal entries after it, are kept.
  LoadMark(cat, &history_mark);
  const TimestampTz history_until =
      TimestampTzPlusMilliseconds(now, -static_cast<int64>(setting_history_retention_s) * 1000);
  Oid types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
  Datum values[2] = {TimestampTzGetDatum(history_mark.done_until),
                     TimestampTzGetDatum(history_until)};
  if (history_until > history_mark.done_until)
    ExecuteAsOwner(cat,
                   "DELETE FROM spawn._history h WHERE h.recorded_at >= $1 AND h.recorded_at < $2 "
                   "AND h.revision < (SELECT max(x.revision) FROM spawn._history x "
                   "  JOIN spawn._instances i ON i.system = x.system AND i.name = x.actor "
                   "  WHERE x.system = h.system AND x.actor = h.actor AND x.revision < i.revision)",
                   2, types, values, nullptr, false, true);
  if (setting_journal_retention_s > 0) {
    LoadMark(cat, &journal_mark);
    const TimestampTz journal_until =
        TimestampTzPlusMilliseconds(now, -static_cast<int64>(setting_journal_retention_s) * 1000);
    values[0] = TimestampTzGetDatum(journal_mark.done_until);
    values[1] = TimestampTzGetDatum(journal_until);
    if (journal_until > journal_mark.done_until)
      ExecuteAsOwner(
          cat,
          "DELETE FROM spawn._journal j WHERE j.recorded_at >= $1 AND j.recorded_at < $2 "
          "AND j.revision <= (SELECT max(x.revision) FROM spawn._history x "
          "  JOIN spawn._instances i ON i.system = x.system AND i.name = x.actor "
          "  WHERE x.system = j.system AND x.actor = j.actor AND x.revision < i.revision)",
          2, types, values, nullptr, false, true);
    AdvanceMark(cat, &journal_mark, journal_until);
  }
  AdvanceMark(cat, &history_mark, history_until);
}

}  // namespace spawn
