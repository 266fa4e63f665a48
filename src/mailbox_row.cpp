// A cast is the most common thing an application does, so its row skips SPI and the executor
// (parse-free as it was, but a plan execution, a result relation and a projection per call):
// the tuple is formed here, written with heap_insert and indexed through
// ExecInsertIndexTuples, which inserts into every index of the table (partial predicates and
// uniqueness included), whatever indexes the table has. What the executor would add besides is
// checked here: the NOT NULL columns are always set, and `source` is one of the CHECK
// constraint's values. The table has no triggers, foreign keys or row security.
//
// The drain deletes the messages it ran by their row versions' addresses (MailboxDeleteRows):
// a DELETE by id through _mailbox_actor_order walked the actor's whole queue once per id, as
// `deliver_at <= $4` stops the descent at the actor's first entry (bench/drain_profile.sh: 13
// million instructions per batch of 100, a third of a drained message's cost).
#include "src/mailbox_row.hpp"

#include "src/index_entries.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "utils/builtins.h"
#include "utils/rel.h"
}

namespace spawn {

using namespace mailbox_column;  // NOLINT(google-build-using-namespace): the columns' names

namespace {

// The values of the mailbox's CHECK constraint on `source`.
const char *const kSources[] = {"cast",   "async",     "timer",     "schedule",
                                "effect", "broadcast", "projection"};

// Raises unless `source` is one of the values the table accepts (the code passes constants, so
// this is an internal error).
void RequireKnownSource(const char *source) {
  for (const char *known : kSources)
    if (strcmp(source, known) == 0) return;
  elog(ERROR, "spawn: unknown mailbox message source \"%s\"", source);
}

// Sets a text column from a string that may be NULL.
void SetText(Datum *values, bool *nulls, int column, const char *text) {
  nulls[column - 1] = text == nullptr;
  values[column - 1] = text ? CStringGetTextDatum(text) : static_cast<Datum>(0);
}

}  // namespace

// hashtextextended(system || E'\x1f' || actor, 0) under the columns' collation "C".
int64 MailboxActorKey(const char *system, const char *actor) {
  text *joined = cstring_to_text(psprintf("%s\x1f%s", system, actor));
  const Datum key = DirectFunctionCall2Coll(hashtextextended, C_COLLATION_OID,
                                            PointerGetDatum(joined), Int64GetDatum(0));
  pfree(joined);
  return DatumGetInt64(key);
}

// Forms the tuple with the columns' defaults, inserts it and indexes it.
void MailboxInsertRow(const Catalog *catalog, const MailboxRow *row) {
  RequireKnownSource(row->source);
  Relation rel = table_open(catalog->mailbox_relid, RowExclusiveLock);
  TupleDesc desc = RelationGetDescr(rel);
  if (desc->natts != kColumnCount)
    elog(ERROR, "spawn: spawn._mailbox has %d columns, expected %d", desc->natts, kColumnCount);
  Datum values[kColumnCount];
  bool nulls[kColumnCount];
  memset(nulls, 0, sizeof nulls);
  values[kId - 1] = Int64GetDatum(row->id);
  SetText(values, nulls, kSystem, row->system);
  SetText(values, nulls, kActor, row->actor);
  SetText(values, nulls, kAction, row->action);
  SetText(values, nulls, kRegisterRef, row->register_ref);
  nulls[kKeyId - 1] = nulls[kNonce - 1] = nulls[kPayload - 1] = !row->has_payload;
  values[kKeyId - 1] = Int64GetDatum(row->key_id);
  values[kNonce - 1] = PointerGetDatum(row->nonce);
  values[kPayload - 1] = PointerGetDatum(row->payload);
  nulls[kMetadata - 1] = row->metadata == nullptr;
  values[kMetadata - 1] = PointerGetDatum(row->metadata);
  SetText(values, nulls, kReplyChannel, row->reply_channel);
  values[kRunAs - 1] = ObjectIdGetDatum(row->run_as);
  SetText(values, nulls, kSource, row->source);
  values[kDeliverAt - 1] = TimestampTzGetDatum(row->deliver_at);
  nulls[kRetryAt - 1] = true;
  values[kRetryAt - 1] = static_cast<Datum>(0);
  values[kAttempts - 1] = Int32GetDatum(0);
  nulls[kLastError - 1] = true;
  values[kLastError - 1] = static_cast<Datum>(0);
  // The column's default, now(): the transaction's start.
  values[kCreatedAt - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
  // A stored generated column: heap_insert does not compute it, so it is computed here.
  values[kActorKey - 1] = Int64GetDatum(MailboxActorKey(row->system, row->actor));
  if (nulls[kSystem - 1] || nulls[kActor - 1] || nulls[kAction - 1] || !OidIsValid(row->run_as))
    elog(ERROR, "spawn: a mailbox message needs a system, an actor, an action and a sender");
  HeapTuple tuple = heap_form_tuple(desc, values, nulls);
  heap_insert(rel, tuple, GetCurrentCommandId(true), 0, nullptr);
  InsertIndexEntries(rel, tuple);
  table_close(rel, NoLock);
  CommandCounterIncrement();
}

// Deletes each row version like a DELETE statement's executor would (heap_delete; index
// entries are left to vacuum). Safe by address: the caller read these versions in this
// transaction, whose first snapshot stays pushed until it ends, so none of them can be pruned
// and its slot reused meanwhile (a version is removable only when its deleter precedes every
// snapshot still held).
void MailboxDeleteRows(const Catalog *catalog, const ItemPointerData *tids, int count) {
  if (count == 0) return;
  Relation rel = table_open(catalog->mailbox_relid, RowExclusiveLock);
  const CommandId cid = GetCurrentCommandId(true);
  for (int i = 0; i < count; ++i) {
    ItemPointerData tid = tids[i];
    TM_FailureData failure;
    const TM_Result result =
        table_tuple_delete(rel, &tid, cid, InvalidSnapshot, InvalidSnapshot, true, &failure, false);
    if (result == TM_Ok || result == TM_Deleted) continue;  // deleted meanwhile: skipped
    if (result == TM_Updated)
      ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                      errmsg("could not serialize access due to concurrent update of a mailbox "
                             "message")));
    elog(ERROR, "spawn: unexpected result %d deleting a mailbox message", static_cast<int>(result));
  }
  table_close(rel, NoLock);
  CommandCounterIncrement();
}

}  // namespace spawn
