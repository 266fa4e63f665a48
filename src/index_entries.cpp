// ExecInsertIndexTuples with the minimal executor state it needs.
#include "src/index_entries.hpp"

extern "C" {
#include "executor/executor.h"
#include "nodes/execnodes.h"
}

namespace spawn {

// A throw-away EState and result relation around ExecInsertIndexTuples.
void InsertIndexEntries(Relation rel, HeapTuple tuple) {
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

}  // namespace spawn
