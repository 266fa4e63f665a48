// One actor's due messages straight from _mailbox_actor_order, (system, actor, deliver_at, id):
// the equality on the first two columns and the bound on the third make the B-tree start at the
// actor's first message and stop after its last due one. As an SPI statement, the planner chose
// between this index and _mailbox_due by estimated cost, and with statistics taken while
// nothing was due, or while the mailbox held one actor, _mailbox_due with a filter won
// (docs/benchmarks.md, "(session 3)"): every batch then read every due message.
#include "src/mailbox_queue.hpp"

#include "src/mailbox_row.hpp"

extern "C" {
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace spawn {

namespace {

constexpr const char *kOrderIndex = "_mailbox_actor_order";

// The oid of _mailbox_actor_order, in the mailbox's schema.
Oid OrderIndexOid(Relation heap) {
  const Oid index = get_relname_relid(kOrderIndex, RelationGetNamespace(heap));
  if (!OidIsValid(index))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("index spawn.%s does not exist", kOrderIndex),
                    errhint("Reinstall the extension: the scheduler reads queues through it.")));
  return index;
}

}  // namespace

// Opens heap and index, and starts the bounded index scan.
void QueueScanBegin(const Catalog *catalog, const char *system, const char *actor,
                    TimestampTz due_by, QueueScan *queue) {
  queue->heap = table_open(catalog->mailbox_relid, AccessShareLock);
  queue->index = index_open(OrderIndexOid(queue->heap), AccessShareLock);
  const int2vector *columns = &queue->index->rd_index->indkey;
  if (queue->index->rd_index->indnkeyatts < 3 || columns->values[0] != mailbox_column::kSystem ||
      columns->values[1] != mailbox_column::kActor ||
      columns->values[2] != mailbox_column::kDeliverAt)
    elog(ERROR, "spawn: index spawn.%s is not on (system, actor, deliver_at, ...)", kOrderIndex);
  ScanKeyData keys[3];
  ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(system));
  ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(actor));
  ScanKeyInit(&keys[2], 3, BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE,
              TimestampTzGetDatum(due_by));
  for (int i = 0; i < 2; ++i) keys[i].sk_collation = queue->index->rd_indcollation[i];
  queue->snapshot = RegisterSnapshot(GetLatestSnapshot());
  queue->scan = index_beginscan(queue->heap, queue->index, queue->snapshot, 3, 0);
  index_rescan(queue->scan, keys, 3, nullptr, 0);
  queue->slot = table_slot_create(queue->heap, nullptr);
}

// Fetches the next visible row version and deforms all its columns.
bool QueueScanNext(QueueScan *queue) {
  if (!index_getnext_slot(queue->scan, ForwardScanDirection, queue->slot)) return false;
  slot_getallattrs(queue->slot);
  return true;
}

// Releases the slot, scan and snapshot; the locks are kept.
void QueueScanEnd(QueueScan *queue) {
  ExecDropSingleTupleTableSlot(queue->slot);
  index_endscan(queue->scan);
  UnregisterSnapshot(queue->snapshot);
  index_close(queue->index, NoLock);
  table_close(queue->heap, NoLock);
}

}  // namespace spawn
