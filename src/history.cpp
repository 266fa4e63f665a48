// Snapshots are written by the scheduler's housekeeping (a copy of the sealed state row); this
// file reads them back for spawn.state_history, spawn.restore and spawn.replay.
#include "src/history.hpp"

#include "src/spi_util.hpp"
#include "src/state_store.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
}

namespace spawn {

// A snapshot is sealed exactly like the state row it was copied from.
Jsonb *HistoryOpen(const char *system, const char *actor, int64 revision,
                   const SealedValue &sealed) {
  return OpenJsonb(
      MakeBinding("state", system, actor, revision), sealed,
      psprintf("revision %lld of actor \"%s\"", static_cast<long long>(revision), actor));
}

// One lookup by primary key.
bool HistoryLoad(const Catalog *cat, const char *system, const char *actor, int64 revision,
                 Jsonb **state) {
  Oid types[3] = {TEXTOID, TEXTOID, INT8OID};
  Datum args[3] = {CStringGetTextDatum(system), CStringGetTextDatum(actor),
                   Int64GetDatum(revision)};
  ExecuteAsOwner(cat,
                 "SELECT key_id, nonce, ciphertext FROM spawn._history "
                 "WHERE system = $1 AND actor = $2 AND revision = $3",
                 3, types, args, nullptr, true);
  if (SPI_processed == 0) return false;
  HeapTuple row = SPI_tuptable->vals[0];
  TupleDesc desc = SPI_tuptable->tupdesc;
  bool isnull;
  SealedValue sealed{DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull)),
                     DatumGetByteaPP(SPI_getbinval(row, desc, 2, &isnull)),
                     DatumGetByteaPP(SPI_getbinval(row, desc, 3, &isnull))};
  *state = HistoryOpen(system, actor, revision, sealed);
  return true;
}

// The ciphertext stays sealed: a snapshot is bound to the same (system, actor, revision).
void HistoryRecord(const Catalog *cat, const InstanceRow *row) {
  Oid types[6] = {TEXTOID, TEXTOID, INT8OID, INT8OID, BYTEAOID, BYTEAOID};
  Datum values[6] = {CStringGetTextDatum(row->system), CStringGetTextDatum(row->name),
                     Int64GetDatum(row->revision),     Int64GetDatum(row->key_id),
                     PointerGetDatum(row->nonce),      PointerGetDatum(row->ciphertext)};
  // Prepared once per process: the launcher records thousands of snapshots after a burst.
  static SPIPlanPtr insert = nullptr;
  PrepareKept(&insert,
              "INSERT INTO spawn._history (system, actor, revision, key_id, nonce, ciphertext) "
              "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
              6, types);
  ExecutePlanAsOwner(cat, insert, values, nullptr, false, 0);
}

// The row as just written (StateWrite made it visible), copied as the scheduler would.
void HistoryCheckpoint(const Catalog *cat, const char *system, const char *actor) {
  InstanceRow row;
  if (!StateFetch(cat, system, actor, &row) || !row.has_state) return;
  HistoryRecord(cat, &row);
  StateMarkSnapshotted(cat, &row);
}

}  // namespace spawn
