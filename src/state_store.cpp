// The plaintext of a state is the binary jsonb body; its associated data binds system, actor
// and revision (envelope.hpp). Reads go through the (system, name) index with the latest
// snapshot; writes are heap_update calls, HOT in the common case (no indexed column changes,
// fillfactor 90), with index entries added by the executor's routine otherwise.
#include "src/state_store.hpp"

#include "src/history.hpp"
#include "src/index_entries.hpp"
#include "src/sealed.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace spawn {

namespace {

// Columns of spawn._instances in table order (sql/spawn--1.0.sql); later versions only append.
enum InstanceColumn {
  kCreatedAt = 1,
  kDefinitionId,
  kActive,
  kSystem,
  kName,
  kSnapshotRevision,
  kSnapshotAt,
  kActivatedAt,
  kKeyId,
  kLastActivity,
  kStateUpdatedAt,
  kRevision,
  kNonce,
  kCiphertext,
  kColumnCount = kCiphertext
};

void UpdateInstance(const Catalog *catalog, const InstanceRow *row, Datum *values, bool *nulls,
                    bool *replace);

// True when a text datum of the row holds exactly `expected` (the key columns are compared
// bytewise: their collation is deterministic, so equal means identical bytes).
bool TextIs(Datum value, const char *expected) {
  const text *t = DatumGetTextPP(value);
  const size_t length = VARSIZE_ANY_EXHDR(t);
  return length == strlen(expected) && memcmp(VARDATA_ANY(t), expected, length) == 0;
}

// Fills `row` from `tuple`, a copy of the fetched version (it becomes the base of the update),
// found at `root`. Returns whether it is the row of (system, name), which a version reached
// through the index always is.
bool FillRow(TupleDesc desc, HeapTuple tuple, ItemPointerData root, const char *system,
             const char *name, InstanceRow *row) {
  Datum values[kColumnCount];
  bool nulls[kColumnCount];
  heap_deform_tuple(tuple, desc, values, nulls);
  if (!TextIs(values[kSystem - 1], system) || !TextIs(values[kName - 1], name)) return false;
  row->tuple = tuple;
  row->root = root;
  row->system = system;
  row->name = name;
  row->exists = true;
  row->definition_id = DatumGetInt32(values[kDefinitionId - 1]);
  row->active = DatumGetBool(values[kActive - 1]);
  row->revision = DatumGetInt64(values[kRevision - 1]);
  row->has_state = !nulls[kKeyId - 1] && !nulls[kNonce - 1] && !nulls[kCiphertext - 1];
  row->key_id = nulls[kKeyId - 1] ? 0 : DatumGetInt64(values[kKeyId - 1]);
  row->nonce = nulls[kNonce - 1] ? nullptr : DatumGetByteaPP(values[kNonce - 1]);
  row->ciphertext = nulls[kCiphertext - 1] ? nullptr : DatumGetByteaPP(values[kCiphertext - 1]);
  row->last_activity =
      nulls[kLastActivity - 1] ? 0 : DatumGetTimestampTz(values[kLastActivity - 1]);
  row->state_updated_at =
      nulls[kStateUpdatedAt - 1] ? 0 : DatumGetTimestampTz(values[kStateUpdatedAt - 1]);
  row->snapshot_revision = DatumGetInt64(values[kSnapshotRevision - 1]);
  row->snapshot_at = nulls[kSnapshotAt - 1] ? 0 : DatumGetTimestampTz(values[kSnapshotAt - 1]);
  return true;
}

}  // namespace

// Looks the instance up by (system, name), remembering the index entry's heap pointer (the
// root of the row's HOT chain; fetching the version moves the scan's pointer to the version).
bool StateFetch(const Catalog *catalog, const char *system, const char *name, InstanceRow *row) {
  Relation rel = table_open(catalog->instances_relid, RowExclusiveLock);
  Relation index = index_open(catalog->instances_name_index, AccessShareLock);
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(system));
  ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(name));
  keys[0].sk_collation = index->rd_indcollation[0];
  keys[1].sk_collation = index->rd_indcollation[1];
  Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
  IndexScanDesc scan = index_beginscan(rel, index, snapshot, 2, 0);
  index_rescan(scan, keys, 2, nullptr, 0);
  TupleTableSlot *slot = table_slot_create(rel, nullptr);
  // index_getnext_slot's loop, for an MVCC snapshot (at most one visible version per entry).
  bool found = false;
  for (ItemPointer tid;
       !found && (tid = index_getnext_tid(scan, ForwardScanDirection)) != nullptr;) {
    const ItemPointerData root = *tid;
    found = index_fetch_heap(scan, slot) &&
            FillRow(RelationGetDescr(rel), ExecCopySlotHeapTuple(slot), root, system, name, row);
  }
  ExecDropSingleTupleTableSlot(slot);
  index_endscan(scan);
  UnregisterSnapshot(snapshot);
  index_close(index, AccessShareLock);
  table_close(rel, NoLock);
  return found;
}

// Why this finds the right version or nothing: with one MVCC snapshot at most one version of
// (system, name) is visible (the primary key), so a visible version carrying that key is the
// row, wherever it was found. heap_hot_search_buffer follows a redirect left by pruning and
// refuses a heap-only tuple or an unused slot at the root, so a line pointer that VACUUM freed
// and another row reused shows that row's key (refused) or nothing. The table's lock, held
// since `root` was found, keeps it from being truncated or rewritten, so the block exists.
bool StateRefetchAtRoot(const Catalog *catalog, const char *system, const char *name,
                        ItemPointerData root, InstanceRow *row) {
  // NoLock: the StateFetch that found `root` took RowExclusiveLock in this (sub)transaction,
  // which holds it until it ends; asking again went through the lock table (600 instructions
  // inside a hot actor's lock).
  Relation rel = table_open(catalog->instances_relid, NoLock);
  Buffer buffer = ReadBuffer(rel, ItemPointerGetBlockNumber(&root));
  // As an index fetch does: pruning keeps room on the page for the HOT update that follows.
  heap_page_prune_opt(rel, buffer);
  LockBuffer(buffer, BUFFER_LOCK_SHARE);
  HeapTupleData version;
  ItemPointerData tid = root;  // moved to the visible member, if any
  bool all_dead = false;
  const bool visible =
      heap_hot_search_buffer(&tid, rel, buffer, GetLatestSnapshot(), &version, &all_dead, true);
  HeapTuple copy = visible ? heap_copytuple(&version) : nullptr;
  UnlockReleaseBuffer(buffer);
  const bool found =
      copy != nullptr && FillRow(RelationGetDescr(rel), copy, root, system, name, row);
  table_close(rel, NoLock);
  return found;
}

// Loops until the row's latest version has no updater in progress (or answers kBusy).
FetchOutcome StateFetchForWrite(const Catalog *catalog, const char *system, const char *name,
                                bool wait, InstanceRow *row, const ItemPointerData *root_hint) {
  for (;;) {
    const bool from_hint =
        root_hint != nullptr && StateRefetchAtRoot(catalog, system, name, *root_hint, row);
    root_hint = nullptr;  // a second round (after waiting for an updater) asks the index
    if (!from_hint && !StateFetch(catalog, system, name, row)) return FetchOutcome::kMissing;
    HeapTupleHeader header = row->tuple->t_data;
    const uint16 infomask = header->t_infomask;
    if ((infomask & HEAP_XMAX_INVALID) || HEAP_XMAX_IS_LOCKED_ONLY(infomask))
      return FetchOutcome::kFound;
    const TransactionId updater = HeapTupleHeaderGetUpdateXid(header);
    if (!TransactionIdIsValid(updater) || TransactionIdIsCurrentTransactionId(updater))
      return FetchOutcome::kFound;
    if (TransactionIdIsInProgress(updater)) {
      if (!wait) return FetchOutcome::kBusy;
      XactLockTableWait(updater, nullptr, nullptr, XLTW_None);
      continue;
    }
    // Committed after our snapshot was taken: read the newer version. Aborted: this one stands.
    if (!TransactionIdDidCommit(updater)) return FetchOutcome::kFound;
  }
}

// Compares the version's inserting transaction with this one (and its subtransactions).
bool StateRowIsOurs(const InstanceRow *row) {
  return TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(row->tuple->t_data));
}

// Returns '{}' as jsonb.
Jsonb *EmptyState() {
  return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
}

// Decrypts the current revision.
Jsonb *StateDecrypt(const InstanceRow *row) {
  if (!row->has_state) return EmptyState();
  return OpenJsonbNamed(MakeBinding("state", row->system, row->name, row->revision),
                        SealedValue{row->key_id, row->nonce, row->ciphertext},
                        "state of actor \"%s\"", row->name);
}

namespace {

// True when a recorded time is missing or at least kActivityGranularityMs older than `now`.
// A time later than `now` (written by a transaction that started after this one) is kept, so
// the recorded times never go backwards.
bool IsStale(TimestampTz recorded, TimestampTz now) {
  return recorded == 0 || now - recorded >= kActivityGranularityMs * (USECS_PER_SEC / 1000);
}

}  // namespace

// Encrypts (when the state changed) and updates the row found by StateFetch. last_activity and
// state_updated_at are rewritten only when stale (IsStale): on an actor used more than once a
// second they then equal the old version's bytes, and since they sit before `revision` in the
// row, the HOT update's WAL record leaves them out with the unchanged prefix (16 bytes per
// invoke). Safe for deactivation: the sweep waits kActivityGranularityMs longer than the
// timeout (bgworker/sweeps.cpp), so no actor is deactivated before it was idle that long.
void StateWrite(const Catalog *catalog, const InstanceRow *row, Jsonb *new_state, int changes) {
  Datum values[kColumnCount] = {};
  bool nulls[kColumnCount] = {};
  bool replace[kColumnCount] = {};
  const TimestampTz now = GetCurrentTransactionStartTimestamp();
  if (new_state != nullptr) {
    // The revision this write replaces is a snapshot kept only in this row: keep it in history.
    if (StateIsSnapshot(row)) HistoryKeepReplaced(catalog, row);
    const int64 revision = row->revision + changes;
    SealedValue sealed =
        SealJsonb(MakeBinding("state", row->system, row->name, revision), new_state);
    values[kRevision - 1] = Int64GetDatum(revision);
    values[kKeyId - 1] = Int64GetDatum(sealed.key_id);
    values[kNonce - 1] = PointerGetDatum(sealed.nonce);
    values[kCiphertext - 1] = PointerGetDatum(sealed.ciphertext);
    values[kStateUpdatedAt - 1] = TimestampTzGetDatum(now);
    replace[kRevision - 1] = replace[kKeyId - 1] = replace[kNonce - 1] = true;
    replace[kCiphertext - 1] = true;
    replace[kStateUpdatedAt - 1] = !row->has_state || IsStale(row->state_updated_at, now);
  }
  if (!row->active) {
    values[kActive - 1] = BoolGetDatum(true);
    values[kActivatedAt - 1] = TimestampTzGetDatum(now);
    replace[kActive - 1] = replace[kActivatedAt - 1] = true;
  }
  values[kLastActivity - 1] = TimestampTzGetDatum(now);
  replace[kLastActivity - 1] = !row->active || IsStale(row->last_activity, now);

  UpdateInstance(catalog, row, values, nulls, replace);
}

// Marks the instance inactive (and snapshotted).
void StateDeactivate(const Catalog *catalog, const InstanceRow *row, bool snapshotted) {
  Datum values[kColumnCount] = {};
  bool nulls[kColumnCount] = {};
  bool replace[kColumnCount] = {};
  values[kActive - 1] = BoolGetDatum(false);
  replace[kActive - 1] = true;
  values[kSnapshotRevision - 1] = Int64GetDatum(row->revision);
  values[kSnapshotAt - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
  replace[kSnapshotRevision - 1] = replace[kSnapshotAt - 1] = snapshotted;
  UpdateInstance(catalog, row, values, nulls, replace);
}

// Makes the row the snapshot of its revision, taken now.
void StateMarkSnapshotted(const Catalog *catalog, const InstanceRow *row) {
  Datum values[kColumnCount] = {};
  bool nulls[kColumnCount] = {};
  bool replace[kColumnCount] = {};
  values[kSnapshotRevision - 1] = Int64GetDatum(row->revision);
  values[kSnapshotAt - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
  replace[kSnapshotRevision - 1] = replace[kSnapshotAt - 1] = true;
  UpdateInstance(catalog, row, values, nulls, replace);
}

namespace {

// Applies the replaced columns to the fetched row with heap_update.
void UpdateInstance(const Catalog *catalog, const InstanceRow *row, Datum *values, bool *nulls,
                    bool *replace) {
  Relation rel = table_open(catalog->instances_relid, RowExclusiveLock);
  HeapTuple updated = heap_modify_tuple(row->tuple, RelationGetDescr(rel), values, nulls, replace);
  TM_FailureData failure;
  LockTupleMode lock_mode;
  TM_Result result = heap_update(rel, &row->tuple->t_self, updated, GetCurrentCommandId(true),
                                 InvalidSnapshot, true, &failure, &lock_mode);
  if (result != TM_Ok)
    ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                    errmsg("actor \"%s\" was changed outside its single-writer lock", row->name),
                    errdetail("It was updated or removed concurrently, for example by "
                              "spawn.unregister_actor."),
                    errhint("Retry the invocation.")));
  if (!HeapTupleIsHeapOnly(updated)) InsertIndexEntries(rel, updated);
  table_close(rel, NoLock);
  CommandCounterIncrement();
}

}  // namespace

}  // namespace spawn
