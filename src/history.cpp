// Snapshots (docs/design.md, "Snapshots and history"): the sweeps mark an instance row as the
// snapshot of its revision (state_store.cpp); the write that replaces a snapshotted revision
// copies it into spawn._history here, and this file reads snapshots back for spawn.restore and
// spawn.replay (spawn.state_history reads both places in one statement, sql_schedule.cpp).
#include "src/history.hpp"

#include "src/index_entries.hpp"
#include "src/spi_util.hpp"
#include "src/state_store.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

namespace spawn {

namespace {

// Columns of spawn._history in table order (sql/spawn--1.0.sql).
enum HistoryColumn {
  kRecordedAt = 1,
  kRevision,
  kKeyId,
  kSystem,
  kActor,
  kNonce,
  kCiphertext,
  kColumnCount = kCiphertext
};

}  // namespace

// A snapshot is sealed exactly like the state row it was copied from.
Jsonb *HistoryOpen(const char *system, const char *actor, int64 revision,
                   const SealedValue &sealed) {
  return OpenJsonb(
      MakeBinding("state", system, actor, revision), sealed,
      psprintf("revision %lld of actor \"%s\"", static_cast<long long>(revision), actor));
}

// The row itself, or one lookup by history's primary key. Not read-only: under READ COMMITTED
// the lookup takes a fresh snapshot, so it sees the copy a writer committed while the caller
// waited for the actor's lock (the row, fetched with the latest snapshot, no longer holds it).
bool HistoryLoad(const Catalog *cat, const InstanceRow *row, int64 revision, Jsonb **state) {
  if (StateIsSnapshot(row) && revision == row->revision) {
    *state = StateDecrypt(row);
    return true;
  }
  Oid types[3] = {TEXTOID, TEXTOID, INT8OID};
  Datum args[3] = {CStringGetTextDatum(row->system), CStringGetTextDatum(row->name),
                   Int64GetDatum(revision)};
  ExecuteAsOwner(cat,
                 "SELECT key_id, nonce, ciphertext FROM spawn._history "
                 "WHERE system = $1 AND actor = $2 AND revision = $3",
                 3, types, args, nullptr, false);
  if (SPI_processed == 0) return false;
  HeapTuple tuple = SPI_tuptable->vals[0];
  TupleDesc desc = SPI_tuptable->tupdesc;
  bool isnull;
  SealedValue sealed{DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull)),
                     DatumGetByteaPP(SPI_getbinval(tuple, desc, 2, &isnull)),
                     DatumGetByteaPP(SPI_getbinval(tuple, desc, 3, &isnull))};
  *state = HistoryOpen(row->system, row->name, revision, sealed);
  return true;
}

// The ciphertext stays sealed (a snapshot is bound to the same system, actor and revision), and
// the row goes in with heap_insert and its index entries, no SPI or executor: this runs inside
// invocations. Skipping the foreign key's check to spawn._instances is safe: the caller holds
// the actor's lock and updates its instance row in this transaction, so the row exists and a
// concurrent delete waits for this transaction and then cascades to the copy too. No snapshot
// of the revision can be in history already: only this copy writes there, and a revision is
// replaced once.
void HistoryKeepReplaced(const Catalog *cat, const InstanceRow *row) {
  const Oid relid = get_relname_relid("_history", get_rel_namespace(cat->instances_relid));
  if (!OidIsValid(relid)) elog(ERROR, "spawn: spawn._history is missing");
  Relation rel = table_open(relid, RowExclusiveLock);
  Datum values[kColumnCount];
  bool nulls[kColumnCount] = {};
  // A row marked without a time (none of spawn's paths does) gets the copy's time.
  values[kRecordedAt - 1] = TimestampTzGetDatum(
      row->snapshot_at != 0 ? row->snapshot_at : GetCurrentTransactionStartTimestamp());
  values[kRevision - 1] = Int64GetDatum(row->revision);
  values[kKeyId - 1] = Int64GetDatum(row->key_id);
  values[kSystem - 1] = CStringGetTextDatum(row->system);
  values[kActor - 1] = CStringGetTextDatum(row->name);
  values[kNonce - 1] = PointerGetDatum(row->nonce);
  values[kCiphertext - 1] = PointerGetDatum(row->ciphertext);
  HeapTuple tuple = heap_form_tuple(RelationGetDescr(rel), values, nulls);
  heap_insert(rel, tuple, GetCurrentCommandId(true), 0, nullptr);
  InsertIndexEntries(rel, tuple);
  heap_freetuple(tuple);
  table_close(rel, NoLock);
}

// The row as just written (StateWrite made it visible) becomes its revision's snapshot; one
// that already is keeps its time.
void HistoryCheckpoint(const Catalog *cat, const char *system, const char *actor) {
  InstanceRow row;
  if (!StateFetch(cat, system, actor, &row) || !row.has_state || StateIsSnapshot(&row)) return;
  StateMarkSnapshotted(cat, &row);
}

}  // namespace spawn
