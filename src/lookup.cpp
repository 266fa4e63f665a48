// An index scan with a registered latest snapshot; the tuple is deformed into the caller's
// arrays with the values copied into the current memory context.
#include "src/lookup.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace spawn {

// Looks the key up.
bool FetchLatestByKey(Oid relid, Oid index_oid, int64 key, Datum *values, bool *nulls,
                      bool *inserted_here) {
  Relation rel = table_open(relid, AccessShareLock);
  Relation index = index_open(index_oid, AccessShareLock);
  ScanKeyData scan_key;
  ScanKeyInit(&scan_key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(key));
  Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
  IndexScanDesc scan = index_beginscan(rel, index, snapshot, 1, 0);
  index_rescan(scan, &scan_key, 1, nullptr, 0);
  TupleTableSlot *slot = table_slot_create(rel, nullptr);
  const bool found = index_getnext_slot(scan, ForwardScanDirection, slot);
  if (found) {
    bool should_free;
    HeapTuple tuple = ExecFetchSlotHeapTuple(slot, true, &should_free);
    HeapTuple copy = should_free ? tuple : heap_copytuple(tuple);
    heap_deform_tuple(copy, RelationGetDescr(rel), values, nulls);
    if (inserted_here != nullptr)
      *inserted_here = TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(copy->t_data));
  }
  ExecDropSingleTupleTableSlot(slot);
  index_endscan(scan);
  UnregisterSnapshot(snapshot);
  index_close(index, AccessShareLock);
  table_close(rel, AccessShareLock);
  return found;
}

}  // namespace spawn
