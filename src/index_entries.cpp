// ExecInsertIndexTuples' work for a row written with the heap API. The usual tables (plain
// index columns, perhaps partial, perhaps unique) take the short path through the backend's
// cached index plan (index_plans.cpp): an index whose predicate the row fails is not even
// opened, as the executor would open it only to skip it (safe: its table is locked, and no
// entry is added or read); every other one gets exactly the index_insert the executor would
// make. Any other table takes ExecInsertIndexTuples itself.
#include "src/index_entries.hpp"

#include "src/index_plans.hpp"

extern "C" {
#include "access/genam.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
}

namespace spawn {

namespace {

// A throw-away EState and result relation around ExecInsertIndexTuples.
void InsertThroughExecutor(Relation rel, HeapTuple tuple) {
  EState *estate = CreateExecutorState();
  ResultRelInfo *info = makeNode(ResultRelInfo);
  InitResultRelInfo(info, rel, 1, nullptr, 0);
  ExecOpenIndices(info, false);
  TupleTableSlot *slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(rel), &TTSOpsHeapTuple);
  ExecStoreHeapTuple(tuple, slot, false);
  // update = false: the "index unchanged" hint would need a range table this EState lacks.
  ExecInsertIndexTuples(info, slot, estate, false, false, nullptr, NIL);
  ExecCloseIndices(info);
  ExecDropSingleTupleTableSlot(slot);
  FreeExecutorState(estate);
}

// Inserts one entry into the planned index, as ExecInsertIndexTuples does for a plain index.
void InsertOne(Relation rel, const IndexPlan *index, TupleTableSlot *slot) {
  IndexInfo *info = index->info;
  Datum values[INDEX_MAX_KEYS];
  bool isnull[INDEX_MAX_KEYS];
  for (int i = 0; i < info->ii_NumIndexAttrs; ++i)
    values[i] = slot_getattr(slot, info->ii_IndexAttrNumbers[i], &isnull[i]);
  Relation index_rel = index_open(index->index_oid, RowExclusiveLock);
  const IndexUniqueCheck check =
      index_rel->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO;
  index_insert(index_rel, values, isnull, &slot->tts_tid, rel, check, false, info);
  index_close(index_rel, NoLock);
}

}  // namespace

// Adds the tuple's entries to every index of `rel` (partial predicates and uniqueness checks
// included), as the executor does after an insert or a non-HOT update.
void InsertIndexEntries(Relation rel, HeapTuple tuple) {
  const RelationIndexPlan *plan = IndexPlanFor(rel);
  if (!plan->simple) {
    InsertThroughExecutor(rel, tuple);
    return;
  }
  TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
  ExecStoreHeapTuple(tuple, slot, false);
  ExprContext *econtext = plan->econtext;
  econtext->ecxt_scantuple = slot;
  for (int i = 0; i < plan->count; ++i) {
    const IndexPlan *index = &plan->indexes[i];
    if (!index->info->ii_ReadyForInserts) continue;
    const bool wanted = index->predicate == nullptr || ExecQual(index->predicate, econtext);
    ResetExprContext(econtext);
    if (wanted) InsertOne(rel, index, slot);
  }
  econtext->ecxt_scantuple = nullptr;
  ExecDropSingleTupleTableSlot(slot);
}

}  // namespace spawn
