// One actor's due messages straight from _mailbox_actor_order, (actor_key, deliver_at, id):
// the equality on the actor's key and the bound on the delivery time make the B-tree start at
// the actor's first message and stop after its last due one; rows of another actor that shares
// the 64-bit key are skipped. As an SPI statement, the planner chose between this index and
// _mailbox_due by estimated cost, and with statistics taken while nothing was due, or while
// the mailbox held one actor, _mailbox_due with a filter won (docs/benchmarks.md,
// "(session 3)"): every batch then read every due message.
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
  if (queue->index->rd_index->indnkeyatts < 2 || columns->values[0] != mailbox_column::kActorKey ||
      columns->values[1] != mailbox_column::kDeliverAt)
    elog(ERROR, "spawn: index spawn.%s is not on (actor_key, deliver_at, ...)", kOrderIndex);
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ,
              Int64GetDatum(MailboxActorKey(system, actor)));
  ScanKeyInit(&keys[1], 2, BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE,
              TimestampTzGetDatum(due_by));
  queue->snapshot = RegisterSnapshot(GetLatestSnapshot());
  queue->scan = index_beginscan(queue->heap, queue->index, queue->snapshot, 2, 0);
  index_rescan(queue->scan, keys, 2, nullptr, 0);
  queue->slot = table_slot_create(queue->heap, nullptr);
  queue->system = system;
  queue->actor = actor;
}

namespace {

// True when the text datum equals the C string (byte for byte: the columns' collation is "C").
bool TextEquals(Datum value, const char *string) {
  const text *t = DatumGetTextPP(value);
  const size_t length = strlen(string);
  return VARSIZE_ANY_EXHDR(t) == length && memcmp(VARDATA_ANY(t), string, length) == 0;
}

}  // namespace

// Fetches the next visible row version of the actor and deforms all its columns.
bool QueueScanNext(QueueScan *queue) {
  while (index_getnext_slot(queue->scan, ForwardScanDirection, queue->slot)) {
    slot_getallattrs(queue->slot);
    const Datum *values = queue->slot->tts_values;
    if (TextEquals(values[mailbox_column::kSystem - 1], queue->system) &&
        TextEquals(values[mailbox_column::kActor - 1], queue->actor))
      return true;
  }
  return false;
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
