// One transaction, the batches of up to 16 actors (at most spawn.batch_size messages in all):
//  1. pick candidate actors whose queue head is due (delivery order is (deliver_at, id)),
//     leaving out queues paused for a key that is not configured;
//  2. take each candidate whose single-writer lock is free (pooled actors: no lock, rows are
//     claimed with FOR UPDATE SKIP LOCKED instead), and for each one do 3 to 5:
//  3. open the actor once, run each message in a subtransaction, all inside one subtransaction
//     of the batch; the first failure stops the batch (the actor's later messages wait behind
//     it, keeping FIFO order); write the state back once, inside the batch's subtransaction;
//  4. if that write-back fails, roll the batch back and run it again with each message writing
//     the state back in its own subtransaction: the message whose write-back fails is the one
//     that fails (a handler that unregistered its own actor, for instance);
//  5. delete the processed messages, store replies, and either schedule the failed message's
//     retry (exponential backoff) or park it as a dead letter.
// State changes, message removals and replies commit together; a crash loses nothing and
// repeats nothing.
//
// Attempts that outlive a worker: before each message the worker stores its id in its shared
// slot (two plain stores, no I/O). A worker that dies while it runs one (pg_terminate_backend,
// a FATAL error, kill -9 or a crash) leaves a blame (shared.cpp keeps it across a crash
// restart); whoever next picks the message up records the death as a failed attempt of that
// message alone, instead of running it.
//
// Keys: a message sealed under a key that is not configured, or an actor whose state is, is
// never run nor counted: its actor's queue waits (logged once per key id) until the key is
// configured; with no key at all the workers do not drain.
#include "bgworker/drain.hpp"

#include "src/actor_lock.hpp"
#include "src/catalog.hpp"
#include "src/invoke.hpp"
#include "src/keyring.hpp"
#include "src/mailbox_queue.hpp"
#include "src/mailbox_row.hpp"
#include "bgworker/process.hpp"
#include "bgworker/worker_slots.hpp"
#include "src/projection.hpp"
#include "src/replies.hpp"
#include "src/sealed.hpp"
#include "src/settings.hpp"
#include "src/spi_util.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
}

namespace spawn {

namespace {

SPIPlanPtr candidates_plan = nullptr;
SPIPlanPtr paused_candidates_plan = nullptr;
SPIPlanPtr pooled_batch_plan = nullptr;
SPIPlanPtr retry_plan = nullptr;
SPIPlanPtr dead_letter_plan = nullptr;
SPIPlanPtr next_due_plan = nullptr;
TimeoutId handler_terminate_timeout = MAX_TIMEOUTS;  // registered on a message's first timeout

// One message of a batch.
struct Pending {
  int64 id;
  TimestampTz deliver_at;  // with the id, finds the row through _mailbox_due
  const char *action;
  const char *register_ref;
  SealedValue payload;
  bool has_payload;
  Jsonb *metadata;
  const char *reply_channel;
  bool blocked;  // waiting for its retry time
  int attempts;
  Oid run_as;           // the role that sent it
  bool projection;      // an async projection's update; action is the projection's name
  bool superseded;      // a later update of the same projection is in the batch
  DeathKind death;      // a worker ended while it ran this message: a failed attempt to record
  ItemPointerData tid;  // the row version read, which deletes it once the message ran
};

// Marks the projection updates that a later update of the same projection in the batch makes
// redundant: that one runs on a state at least as new (or, if the batch stops before it, stays
// queued and runs later).
void MarkSupersededProjections(Pending *batch, int count) {
  for (int i = 0; i < count; ++i) {
    if (!batch[i].projection) continue;
    for (int j = i + 1; j < count && !batch[i].superseded; ++j)
      batch[i].superseded = batch[j].projection && strcmp(batch[j].action, batch[i].action) == 0;
  }
}

// Fills a batch entry from a mailbox row: (system, actor) come from the caller.
void FillPending(const Datum *values, const bool *nulls, ItemPointer tid, bool blocked,
                 Pending *p) {
  using namespace mailbox_column;  // NOLINT(google-build-using-namespace): the columns' names
  p->id = DatumGetInt64(values[kId - 1]);
  p->action = TextDatumGetCString(values[kAction - 1]);
  p->register_ref =
      nulls[kRegisterRef - 1] ? nullptr : TextDatumGetCString(values[kRegisterRef - 1]);
  p->has_payload = !nulls[kKeyId - 1];
  if (p->has_payload) {
    p->payload.key_id = DatumGetInt64(values[kKeyId - 1]);
    p->payload.nonce = DatumGetByteaPCopy(values[kNonce - 1]);
    p->payload.ciphertext = DatumGetByteaPCopy(values[kPayload - 1]);
  }
  p->metadata = nulls[kMetadata - 1] ? nullptr : DatumGetJsonbPCopy(values[kMetadata - 1]);
  p->reply_channel =
      nulls[kReplyChannel - 1] ? nullptr : TextDatumGetCString(values[kReplyChannel - 1]);
  p->blocked = blocked;
  p->attempts = DatumGetInt32(values[kAttempts - 1]);
  p->run_as = DatumGetObjectId(values[kRunAs - 1]);
  p->projection = strcmp(TextDatumGetCString(values[kSource - 1]), "projection") == 0;
  p->deliver_at = DatumGetTimestampTz(values[kDeliverAt - 1]);
  p->tid = *tid;
}

// Reads a pooled actor's first `limit` due messages that no other worker has claimed, and
// claims them (FOR UPDATE SKIP LOCKED: pooled actors take no lock, several workers share them).
// Generic plan, planned without sequential scans or sorts: the equalities
// on the actor make _mailbox_actor_order the cheaper index whenever the mailbox holds more than
// one actor.
int FetchPooledBatch(const Catalog *cat, const char *system, const char *actor, int limit,
                     TimestampTz now, Pending *batch) {
  Oid types[5] = {TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, INT8OID};
  SPIPlanPtr plan =
      PrepareKept(&pooled_batch_plan,
                  "SELECT *, ctid, coalesce(retry_at > $4, false) FROM spawn._mailbox "
                  "WHERE actor_key = $5 AND system = $1 AND actor = $2 AND deliver_at <= $4 "
                  "ORDER BY deliver_at, id LIMIT $3 FOR UPDATE SKIP LOCKED",
                  5, types, CURSOR_OPT_GENERIC_PLAN);
  Datum values[5] = {CStringGetTextDatum(system), CStringGetTextDatum(actor), Int32GetDatum(limit),
                     TimestampTzGetDatum(now), Int64GetDatum(MailboxActorKey(system, actor))};
  ExecutePlanAsOwner(cat, plan, values, nullptr, false, 0, true);
  const int count = static_cast<int>(SPI_processed);
  TupleDesc desc = SPI_tuptable->tupdesc;
  Datum *row_values = static_cast<Datum *>(palloc(sizeof(Datum) * desc->natts));
  bool *row_nulls = static_cast<bool *>(palloc(sizeof(bool) * desc->natts));
  for (int i = 0; i < count; ++i) {
    heap_deform_tuple(SPI_tuptable->vals[i], desc, row_values, row_nulls);
    const int extra = mailbox_column::kColumnCount;  // ctid and the retry test follow the columns
    FillPending(row_values, row_nulls,
                reinterpret_cast<ItemPointer>(DatumGetPointer(row_values[extra])),
                DatumGetBool(row_values[extra + 1]), &batch[i]);
  }
  return count;
}

// Reads the batch rows of one actor: its first `limit` due messages. An actor with a lock (the
// caller holds it) is read by a direct scan of _mailbox_actor_order (src/mailbox_queue.cpp says
// why no SPI statement), with a snapshot taken after the claim, so it sees what the actor's
// previous holder committed.
int FetchBatch(const Catalog *cat, const char *system, const char *actor, bool pooled, int limit,
               Pending **out) {
  const TimestampTz now = GetCurrentTransactionStartTimestamp();  // now(), as the SQL had it
  auto *batch = static_cast<Pending *>(palloc0(sizeof(Pending) * (limit > 0 ? limit : 1)));
  int count = 0;
  if (pooled) {
    count = FetchPooledBatch(cat, system, actor, limit, now, batch);
  } else {
    QueueScan queue;
    QueueScanBegin(cat, system, actor, now, &queue);
    while (count < limit && QueueScanNext(&queue)) {
      const Datum *values = queue.slot->tts_values;
      const bool *nulls = queue.slot->tts_isnull;
      const bool blocked = !nulls[mailbox_column::kRetryAt - 1] &&
                           DatumGetTimestampTz(values[mailbox_column::kRetryAt - 1]) > now;
      FillPending(values, nulls, &queue.slot->tts_tid, blocked, &batch[count++]);
    }
    QueueScanEnd(&queue);
  }
  MarkSupersededProjections(batch, count);
  *out = batch;
  return count;
}

// State of one batch while its messages run.
struct BatchRun {
  const Catalog *cat;
  const char *system;
  const char *actor;
  OpenActor open;
  bool opened;
  bool close_each;     // each message writes the state back in its own subtransaction
  ErrorData *failure;  // the error that stopped the batch, or NULL
  int64 paused_key;    // the key id (not configured) that stopped the batch, or 0
};

// Runs an async projection's update on the open actor's current state. Superseded updates, and
// those of a projection dropped since the message was sent, are skipped.
void RunProjection(BatchRun *run, const Pending *p) {
  OpenActor *open = &run->open;
  const Projection *projection = DefinitionFindProjection(open->definition, p->action);
  if (projection == nullptr || p->superseded) return;
  ProjectionCall(projection, run->actor, open->state, open->row.revision + open->changes);
}

// What an open actor looked like before a message, to undo the message's effects on it when
// the message fails (its subtransaction rolls back the rest).
struct OpenActorMark {
  bool was_open;
  Jsonb *state;
  bool activated;
  bool touched;
  int changes;
  int journal_length;
};

// Marks the open actor before a message runs.
OpenActorMark MarkOpenActor(const BatchRun *run) {
  const OpenActor *open = &run->open;
  return OpenActorMark{run->opened,   open->state,   open->activated,
                       open->touched, open->changes, list_length(open->journal)};
}

// Returns the open actor to its mark after a failed message.
void ResetOpenActor(BatchRun *run, const OpenActorMark &mark) {
  if (!mark.was_open) {
    run->opened = false;
    return;
  }
  OpenActor *open = &run->open;
  open->state = mark.state;
  open->activated = mark.activated;
  open->touched = mark.touched;
  open->changes = mark.changes;
  open->journal = list_truncate(open->journal, mark.journal_length);
}

// Ends the worker process: the handler caught the cancellation of spawn.handler_timeout.
void TerminateStuckHandler() {
  kill(MyProcPid, SIGTERM);  // async-signal-safe; the worker exits at the next interrupt check
}

// Cancels the handler at spawn.handler_timeout (a catchable error) and, should it catch that
// and go on, terminates the worker a second later (which no handler can catch).
void ArmHandlerTimeout() {
  static TimeoutId terminate_timeout = MAX_TIMEOUTS;
  if (setting_handler_timeout_ms <= 0) return;
  if (terminate_timeout == MAX_TIMEOUTS)
    terminate_timeout = RegisterTimeout(USER_TIMEOUT, TerminateStuckHandler);
  enable_timeout_after(STATEMENT_TIMEOUT, setting_handler_timeout_ms);
  enable_timeout_after(terminate_timeout, setting_handler_timeout_ms + 1000);
  handler_terminate_timeout = terminate_timeout;
}

// Stops both timers of ArmHandlerTimeout.
void DisarmHandlerTimeout() {
  disable_timeout(STATEMENT_TIMEOUT, false);
  if (handler_terminate_timeout != MAX_TIMEOUTS) disable_timeout(handler_terminate_timeout, false);
}

// Runs one message in a subtransaction; returns false (with run->failure set, or
// run->paused_key when the actor's state is sealed under a key that is not configured) if it
// failed. In close_each mode the state is written back inside the message's subtransaction.
bool RunMessage(ProcessSlot *slot, BatchRun *run, const Pending *p) {
  MemoryContext outer_context = CurrentMemoryContext;
  ResourceOwner outer_owner = CurrentResourceOwner;
  volatile bool ok = true;
  SavedUser worker;
  const OpenActorMark mark = MarkOpenActor(run);
  // Settings a handler changes (even with is_local = false) end with its message.
  const int guc_level = NewGUCNestLevel();
  SlotRunning(slot, p->id, p->attempts);
  BeginInternalSubTransaction(nullptr);
  MemoryContextSwitchTo(outer_context);
  const Oid worker_session = GetSessionUserId();
  const TimestampTz started = GetCurrentTimestamp();
  SlotMessageStarts(slot, started);
  PG_TRY();
  {
    // The message runs as the role that sent it, as session_user too, so that auditing sees
    // the sender, inside a security-restricted operation: its code can neither SET ROLE or
    // SET SESSION AUTHORIZATION nor leave anything that would run later as the worker or the
    // next message's sender (temporary objects, WITH HOLD cursors, deferred triggers, which
    // PostgreSQL refuses there). Both are undone below, on success and on failure.
    SetSessionAuthorization(p->run_as, superuser_arg(p->run_as));
    BecomeRestricted(p->run_as, &worker);
    ArmHandlerTimeout();
    Jsonb *payload =
        p->has_payload
            ? OpenJsonb(MakeBinding("mailbox", run->system, run->actor, p->id), p->payload,
                        psprintf("payload of message %lld", static_cast<long long>(p->id)))
            : nullptr;
    InvokeRequest req{run->system, run->actor, p->action, payload, p->metadata, p->register_ref};
    if (!run->opened) {
      ActorOpen(run->cat, &req, true, &run->open);
      run->opened = true;
    }
    if (p->projection) {
      RunProjection(run, p);
    } else {
      Jsonb *response = ActorRun(&run->open, &req);
      if (p->reply_channel != nullptr) {
        ReplyTarget target{p->id, run->system, run->actor, p->action, p->reply_channel, p->run_as};
        StoreReply(run->cat, &target, response, nullptr);
      }
    }
    DisarmHandlerTimeout();
    RestoreUser(&worker);
    SetSessionAuthorization(worker_session, true);
    if (run->close_each) {
      ActorClose(&run->open);
      run->opened = false;
    }
    ReleaseCurrentSubTransaction();
    AtEOXact_GUC(false, guc_level);
    MemoryContextSwitchTo(outer_context);
    CurrentResourceOwner = outer_owner;
  }
  PG_CATCH();
  {
    DisarmHandlerTimeout();
    MemoryContextSwitchTo(outer_context);
    run->failure = CopyErrorData();
    const bool timed_out =
        run->failure->sqlerrcode == ERRCODE_QUERY_CANCELED && setting_handler_timeout_ms > 0 &&
        TimestampDifferenceExceeds(started, GetCurrentTimestamp(), setting_handler_timeout_ms);
    if (timed_out)
      run->failure->message =
          psprintf("action \"%s\" ran longer than spawn.handler_timeout (%d ms) and was cancelled",
                   p->action, setting_handler_timeout_ms);
    FlushErrorState();
    RollbackAndReleaseCurrentSubTransaction();
    SetSessionAuthorization(worker_session, true);
    AtEOXact_GUC(false, guc_level);
    MemoryContextSwitchTo(outer_context);
    CurrentResourceOwner = outer_owner;
    // A state that cannot be opened for want of its key is no failure of the message.
    const InstanceRow *row = &run->open.row;
    if (!mark.was_open && !run->open.pooled && row->has_state && !KeyringHasKey(row->key_id))
      run->paused_key = row->key_id;
    ResetOpenActor(run, mark);
    ok = false;
  }
  PG_END_TRY();
  SlotRunning(slot, 0, 0);
  SlotMessageEnded(slot, p->run_as, started, GetCurrentTimestamp());
  return ok;
}

// The failure recorded for a message whose worker ended while it ran.
ErrorData *DeathError(DeathKind kind) {
  auto *e = static_cast<ErrorData *>(palloc0(sizeof(ErrorData)));
  e->elevel = ERROR;
  if (kind == DeathKind::kTerminated) {
    e->sqlerrcode = ERRCODE_ADMIN_SHUTDOWN;
    e->message = pstrdup(
        "the worker running this message ended while it ran (terminated, e.g. by "
        "pg_terminate_backend, or a fatal error)");
  } else {
    e->sqlerrcode = ERRCODE_CRASH_SHUTDOWN;
    e->message = pstrdup(
        "the worker running this message ended while it ran (killed or crashed; the server "
        "restarted)");
  }
  return e;
}

// Logs once (for all workers) that values sealed under `key_id` wait for that key.
void NotePausedKey(int64 key_id, const char *actor, int64 message_id) {
  SharedState *shared = Shared();
  bool added = false;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  int free_entry = -1;
  bool known = false;
  for (int i = 0; i < static_cast<int>(lengthof(shared->pool.paused_keys)); ++i) {
    known = known || shared->pool.paused_keys[i] == key_id;
    if (shared->pool.paused_keys[i] == 0 && free_entry < 0) free_entry = i;
  }
  if (!known && free_entry >= 0) {
    shared->pool.paused_keys[free_entry] = key_id;
    added = true;
  }
  LWLockRelease(shared->lock);
  if (added)
    ereport(WARNING,
            (errmsg("spawn: message %lld to actor \"%s\" cannot be opened: it (or the actor's "
                    "state) was sealed under key id %lld, which is not configured",
                    static_cast<long long>(message_id), actor, static_cast<long long>(key_id)),
             errdetail("The queues of the actors concerned wait, and no attempt is counted, until "
                       "that key is configured. This is logged once."),
             errhint("Configure the state store key these values were sealed with.")));
}

// Drops paused key ids whose key is configured now (their queues go on); returns how many stay.
int RefreshPausedKeys(int64 *paused, int capacity) {
  SharedState *shared = Shared();
  int count = 0;
  bool any = false;
  for (int i = 0; i < capacity; ++i) any = any || shared->pool.paused_keys[i] != 0;
  if (!any) return 0;
  int64 resumed[lengthof(shared->pool.paused_keys)];
  int resumed_count = 0;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  for (int i = 0; i < capacity; ++i) {
    const int64 key_id = shared->pool.paused_keys[i];
    if (key_id == 0) continue;
    if (KeyringHasKey(key_id)) {
      shared->pool.paused_keys[i] = 0;
      resumed[resumed_count++] = key_id;
    } else {
      paused[count++] = key_id;
    }
  }
  LWLockRelease(shared->lock);
  for (int i = 0; i < resumed_count; ++i)
    ereport(LOG, (errmsg("spawn: key id %lld is configured now; its queues go on",
                         static_cast<long long>(resumed[i]))));
  return count;
}

// Builds an int8[] of message ids.
Datum IdArray(const int64 *ids, int count) {
  auto *datums = static_cast<Datum *>(palloc(sizeof(Datum) * (count > 0 ? count : 1)));
  for (int i = 0; i < count; ++i) datums[i] = Int64GetDatum(ids[i]);
  return PointerGetDatum(
      construct_array(datums, count, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

// Schedules a retry, or parks the message as a dead letter when its attempts are used up.
void RecordFailure(BatchRun *run, const Pending *p, DrainResult *result) {
  ErrorData *e = run->failure;
  const char *sqlstate = unpack_sql_state(e->sqlerrcode);
  const char *message = psprintf("%s: %s", sqlstate, e->message ? e->message : "unknown error");
  const int attempts = p->attempts + 1;
  // The message's row: (deliver_at, id) is the key of _mailbox_due.
  Datum values[7] = {Int64GetDatum(p->id),
                     CStringGetTextDatum(message),
                     0,
                     0,
                     CStringGetTextDatum(run->system),
                     CStringGetTextDatum(run->actor),
                     TimestampTzGetDatum(p->deliver_at)};
  if (attempts >= setting_max_attempts) {
    Oid types[7] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID};
    const char nulls[7] = {' ', ' ', e->detail ? ' ' : 'n', e->hint ? ' ' : 'n', ' ', ' ', ' '};
    if (e->detail) values[2] = CStringGetTextDatum(e->detail);
    if (e->hint) values[3] = CStringGetTextDatum(e->hint);
    SPIPlanPtr plan = PrepareKept(
        &dead_letter_plan,
        "WITH moved AS (DELETE FROM spawn._mailbox WHERE system = $5 AND actor = $6 "
        "AND deliver_at = $7 AND id = $1 RETURNING *) "
        "INSERT INTO spawn._dead_letters (id, system, actor, action, register_ref, key_id, nonce, "
        "payload, metadata, reply_channel, run_as, source, deliver_at, attempts, last_error, "
        "last_detail, last_hint, created_at) SELECT id, system, actor, action, register_ref, "
        "key_id, nonce, payload, metadata, reply_channel, run_as, source, deliver_at, "
        "attempts + 1, $2, $3, $4, created_at FROM moved",
        7, types);
    ExecutePlanAsOwner(run->cat, plan, values, nulls, false, 0);
    if (p->reply_channel != nullptr) {
      ReplyTarget target{p->id, run->system, run->actor, p->action, p->reply_channel, p->run_as};
      StoreReply(run->cat, &target, nullptr, e);
      result->replied[result->replied_count++] = p->id;
    }
    ereport(LOG, (errmsg("spawn: message %lld to actor \"%s\" became a dead letter after %d "
                         "attempts: %s",
                         static_cast<long long>(p->id), run->actor, attempts, message)));
    return;
  }
  // Exponential backoff: base, 2 x base, 4 x base, ... capped at one hour.
  double delay = static_cast<double>(setting_retry_base_ms) * (1 << Min(attempts - 1, 20));
  Datum retry_values[6] = {
      values[0], values[1], Int64GetDatum(static_cast<int64>(Min(delay, 3600.0 * 1000))),
      values[4], values[5], values[6]};
  Oid types[6] = {INT8OID, TEXTOID, INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID};
  SPIPlanPtr plan =
      PrepareKept(&retry_plan,
                  "UPDATE spawn._mailbox SET attempts = attempts + 1, last_error = $2, "
                  "retry_at = clock_timestamp() + $3 * interval '1 millisecond' "
                  "WHERE system = $4 AND actor = $5 AND deliver_at = $6 AND id = $1",
                  6, types);
  ExecutePlanAsOwner(run->cat, plan, retry_values, nullptr, false, 0);
}

// What running a batch did.
struct BatchOutcome {
  int64 *done;  // messages that succeeded
  int done_count;
  int ran;                // messages that ran (or whose death was recorded)
  const Pending *failed;  // the message that failed, or NULL
};

// Runs the batch's messages in order until one fails, is blocked, or waits for its key. Unless
// in close_each mode, all of it runs in one subtransaction that ends with the state write-back;
// returns false when that write-back failed and the batch was rolled back.
bool RunBatch(ProcessSlot *slot, BatchRun *run, Pending *batch, int count, DrainResult *result,
              BatchOutcome *out) {
  MemoryContext outer_context = CurrentMemoryContext;
  ResourceOwner outer_owner = CurrentResourceOwner;
  out->done = static_cast<int64 *>(palloc(sizeof(int64) * (count > 0 ? count : 1)));
  out->done_count = out->ran = 0;
  out->failed = nullptr;
  result->replied_count = 0;
  if (!run->close_each) {
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(outer_context);
  }
  for (int i = 0; i < count; ++i) {
    Pending *p = &batch[i];
    if (p->blocked) break;
    if (p->has_payload && !KeyringHasKey(p->payload.key_id)) {
      run->paused_key = p->payload.key_id;
      NotePausedKey(run->paused_key, run->actor, p->id);
      break;
    }
    if (p->death == DeathKind::kNone && AnyBlame()) p->death = TakeBlame(p->id, p->attempts);
    ++out->ran;
    if (p->death != DeathKind::kNone) {
      run->failure = DeathError(p->death);
      out->failed = p;
      break;
    }
    if (!RunMessage(slot, run, p)) {
      if (run->paused_key != 0) {
        --out->ran;
        NotePausedKey(run->paused_key, run->actor, p->id);
      } else {
        out->failed = p;
      }
      break;
    }
    out->done[out->done_count++] = p->id;
    if (p->reply_channel != nullptr) result->replied[result->replied_count++] = p->id;
  }
  if (run->close_each) return true;
  volatile bool closed = true;
  PG_TRY();
  {
    if (run->opened && out->done_count > 0) ActorClose(&run->open);
    ReleaseCurrentSubTransaction();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(outer_context);
    ErrorData *e = CopyErrorData();
    FlushErrorState();
    RollbackAndReleaseCurrentSubTransaction();
    ereport(DEBUG1, (errmsg("spawn: writing back actor \"%s\" after a batch failed (%s); "
                            "running its messages one at a time",
                            run->actor, e->message)));
    closed = false;
  }
  PG_END_TRY();
  MemoryContextSwitchTo(outer_context);
  CurrentResourceOwner = outer_owner;
  return closed;
}

// Processes the batch of one actor, at most `limit` messages; returns the number of messages
// that ran. Sets *paused when the batch stopped at a value whose key is not configured.
int ProcessActor(ProcessSlot *slot, const Catalog *cat, const char *system, const char *actor,
                 bool pooled, int limit, DrainResult *result, bool *paused) {
  Pending *batch;
  const int count = FetchBatch(cat, system, actor, pooled, limit, &batch);
  result->replied = static_cast<int64 *>(palloc(sizeof(int64) * (count + 1)));
  BatchRun run{cat, system, actor, {}, false, false, nullptr, 0};
  BatchOutcome out;
  if (!RunBatch(slot, &run, batch, count, result, &out)) {
    run = BatchRun{cat, system, actor, {}, false, true, nullptr, 0};
    RunBatch(slot, &run, batch, count, result, &out);
  }
  *paused = run.paused_key != 0;
  // The messages that ran are the batch's first done_count (RunBatch stops at the first that
  // does not run); they are deleted by the row versions FetchBatch read (mailbox_row.cpp says
  // why that is safe, and what a DELETE by id through _mailbox_actor_order cost).
  auto *tids = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (count + 1)));
  for (int i = 0; i < out.done_count; ++i) {
    Assert(batch[i].id == out.done[i]);
    tids[i] = batch[i].tid;
  }
  MailboxDeleteRows(cat, tids, out.done_count);
  if (out.failed != nullptr) {
    RecordFailure(&run, out.failed, result);
    result->failed = 1;
  }
  return out.ran;
}

// Most actors one drain transaction looks at.
constexpr int kCandidateLimit = 16;

// An actor whose next message is due, and the role that sent that message.
struct Candidate {
  char *system;
  char *actor;
  Oid role;
};

// Lists actors whose next message is due, oldest first, leaving out the queues whose head (or
// state) is sealed under one of the `paused_count` key ids (the usual case has none: then the
// plan without that filter runs).
int FetchCandidates(const Catalog *cat, const int64 *paused, int paused_count, Datum full_roles,
                    Candidate **out) {
  const char *select =
      "SELECT m.system, m.actor, m.run_as FROM spawn._mailbox m "
      "WHERE m.deliver_at <= now() AND (m.retry_at IS NULL OR m.retry_at <= now()) "
      // Roles at their worker share are left out here, not skipped after the LIMIT: otherwise
      // their queue heads could fill every candidate slot and starve the other roles.
      "AND m.run_as <> ALL($1) "
      // A queue head has no message of its actor before it: a correlated LIMIT 1 subquery that
      // reads _mailbox_actor_order backwards from the candidate's own key, an index probe per
      // candidate and never a hash of the whole mailbox. Asking for the actor's first message
      // instead (forward, LIMIT 1) made the B-tree read every entry of the actor's queue on
      // the probe's first leaf page, which was two thirds of a drained message's instructions
      // (bench/drain_profile.sh); from the candidate backwards a head reads only its neighbour.
      // The row comparison starts with actor_key, so only _mailbox_actor_order can serve it:
      // with (deliver_at, id) alone, _mailbox_due with a filter won on an empty mailbox.
      "AND (SELECT h.id FROM spawn._mailbox h WHERE h.actor_key = m.actor_key "
      "AND h.system = m.system AND h.actor = m.actor "
      "AND (h.actor_key, h.deliver_at, h.id) < (m.actor_key, m.deliver_at, m.id) "
      "ORDER BY h.deliver_at DESC, h.id DESC LIMIT 1) IS NULL ";
  const char *order = psprintf("ORDER BY m.deliver_at, m.id LIMIT %d", kCandidateLimit);
  Oid types[2] = {OIDARRAYOID, INT8ARRAYOID};
  if (paused_count == 0) {
    SPIPlanPtr plan = PrepareKept(&candidates_plan, psprintf("%s%s", select, order), 1, types);
    Datum values[1] = {full_roles};
    ExecutePlanAsOwner(cat, plan, values, nullptr, true, 0, true);
  } else {
    SPIPlanPtr plan = PrepareKept(
        &paused_candidates_plan,
        psprintf("%sAND (m.key_id IS NULL OR m.key_id <> ALL($2)) AND NOT EXISTS (SELECT 1 "
                 "FROM spawn._instances i WHERE i.system = m.system AND i.name = m.actor "
                 "AND i.key_id = ANY($2)) %s",
                 select, order),
        2, types);
    Datum values[2] = {full_roles, IdArray(paused, paused_count)};
    ExecutePlanAsOwner(cat, plan, values, nullptr, true, 0, true);
  }
  const int count = static_cast<int>(SPI_processed);
  auto *candidates = static_cast<Candidate *>(palloc(sizeof(Candidate) * (count + 1)));
  for (int i = 0; i < count; ++i) {
    HeapTuple row = SPI_tuptable->vals[i];
    TupleDesc desc = SPI_tuptable->tupdesc;
    bool isnull;
    candidates[i].system = SPI_getvalue(row, desc, 1);
    candidates[i].actor = SPI_getvalue(row, desc, 2);
    candidates[i].role = DatumGetObjectId(SPI_getbinval(row, desc, 3, &isnull));
  }
  *out = candidates;
  return count;
}

// Milliseconds until the next message becomes due, or -1 when the mailbox holds none.
long NextDueMs(const Catalog *cat) {
  SPIPlanPtr plan =
      PrepareKept(&next_due_plan,
                  "SELECT ceil(extract(epoch FROM least("
                  "(SELECT min(deliver_at) FROM spawn._mailbox WHERE deliver_at > now()), "
                  "(SELECT min(retry_at) FROM spawn._mailbox WHERE retry_at IS NOT NULL)) "
                  "- clock_timestamp()) * 1000)::bigint",
                  0, nullptr);
  ExecutePlanAsOwner(cat, plan, nullptr, nullptr, true, 1);
  bool isnull;
  Datum ms = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  return isnull ? -1 : Max(DatumGetInt64(ms), 0L);
}

// Everything one drain transaction does.
struct DrainWork {
  ProcessSlot *slot;
  DrainResult *result;
  MemoryContext result_context;
};

// The body of a drain transaction.
void DrainBody(Catalog *cat, void *arg) {
  auto *work = static_cast<DrainWork *>(arg);
  DrainResult *result = work->result;
  int64 paused_keys[lengthof(Shared()->pool.paused_keys)];
  const int paused_count = RefreshPausedKeys(paused_keys, lengthof(paused_keys));
  const TimestampTz began = GetCurrentTimestamp();
  // Worker slots (worker_slots.cpp): roles at their share in other workers are left out, so the
  // other roles' work comes first; when there is none and a role at its share may borrow this
  // worker, its queues are taken too. The scan that leaves a role out reads all of its due
  // messages, so while borrowing it runs only every few hundred milliseconds.
  Candidate *candidates = nullptr;
  int count = 0;
  bool left_out = false;  // some role was left out at its share
  const bool may_borrow = AnyRoleMayBorrow(work->slot);
  if (!may_borrow || TimeToLookForOtherRoles(began)) {
    const Datum full = RolesAtTheirShare(work->slot, false);
    left_out =
        ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(full)), ARR_DIMS(DatumGetArrayTypeP(full))) > 0;
    count = FetchCandidates(cat, paused_keys, paused_count, full, &candidates);
    if (count == 0 && may_borrow) NoOtherRolesFound(began);
  }
  bool borrowing = false;
  if (count == 0 && may_borrow) {
    count = FetchCandidates(cat, paused_keys, paused_count, RolesAtTheirShare(work->slot, true),
                            &candidates);
    borrowing = true;
  }
  bool blocked = false;
  bool paused = false;
  // Several actors per transaction, up to spawn.batch_size messages in all: a transaction per
  // actor cost a commit (a WAL flush) and a candidate scan per actor, so a stream of single
  // messages to many actors ran at one flush per message (bench/drain_bench.sh, part (c)). Safe:
  // each actor's batch runs and is deleted in its own subtransactions as before, all of it
  // commits or rolls back together (nothing runs twice, nothing is lost), and each actor's
  // order is its own queue's; the cost is that an actor claimed early stays locked until the
  // transaction's last batch is done.
  int processed = 0;
  int failed = 0;
  int64 *replied = nullptr;
  int replied_count = 0;
  for (int i = 0; i < count && processed < setting_batch_size; ++i) {
    const Candidate *c = &candidates[i];
    if (RoleAtItsShare(work->slot, c->role) && !(borrowing && RoleMayBorrow(work->slot, c->role))) {
      blocked = true;
      continue;
    }
    // A borrowed worker goes back to the other roles soon: no further actor after the budget.
    if (borrowing && processed > 0 &&
        TimestampDifferenceExceeds(began, GetCurrentTimestamp(), static_cast<int>(kBorrowBudgetMs)))
      break;
    const Definition *def = CatalogFindByName(c->system, c->actor);
    const bool pooled = def != nullptr && def->kind == ActorKind::kPooled;
    // The claim checks the row too: a transaction that let the actor's advisory lock go early
    // still holds its row until it ends, and a worker never waits for one.
    InstanceRow row;
    ActorLockHold hold;
    if (!pooled && !ActorTryClaim(cat, c->system, c->actor, &row, &hold)) {
      blocked = true;
      continue;
    }
    work->slot->busy_role = c->role;
    bool actor_paused = false;
    result->failed = 0;
    result->replied_count = 0;
    processed += ProcessActor(work->slot, cat, c->system, c->actor, pooled,
                              setting_batch_size - processed, result, &actor_paused);
    failed += result->failed;
    if (result->replied_count > 0) {
      const size_t bytes = sizeof(int64) * (replied_count + result->replied_count);
      replied = static_cast<int64 *>(replied ? repalloc(replied, bytes) : palloc(bytes));
      memcpy(replied + replied_count, result->replied, sizeof(int64) * result->replied_count);
      replied_count += result->replied_count;
    }
    paused = paused || actor_paused;
    work->slot->busy_role = InvalidOid;
  }
  result->processed = processed;
  result->failed = failed;
  // A full transaction leaves work behind: the worker wakes another one (worker.cpp).
  result->more_due = processed > 0 && (count == kCandidateLimit || processed >= setting_batch_size);
  result->replied = replied;
  result->replied_count = replied_count;
  if (result->processed == 0) {
    result->next_due_ms = blocked ? 50 : NextDueMs(cat);
    // A role left out at its share may become one that can borrow this worker (its messages
    // prove quick), which no commit announces: look again soon rather than at the next due time.
    if (left_out && (result->next_due_ms < 0 || result->next_due_ms > kLookAgainMs))
      result->next_due_ms = kLookAgainMs;
    // A paused queue's head is due but waits for its key: never spin on it.
    if ((paused || paused_count > 0) && result->next_due_ms >= 0)
      result->next_due_ms = Max(result->next_due_ms, 1000L);
  }
  auto *kept = static_cast<int64 *>(
      MemoryContextAlloc(work->result_context, sizeof(int64) * (result->replied_count + 1)));
  if (result->replied_count > 0)
    memcpy(kept, result->replied, sizeof(int64) * result->replied_count);
  result->replied = kept;
}

// True when the workers may drain: a state store key is configured. Says once, for all
// workers, that they wait for one, and once that they go on.
bool KeyReady() {
  SharedState *shared = Shared();
  const bool configured = KeyringConfigured();
  if (configured == !shared->pool.no_key_logged) return configured;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  const bool changed = shared->pool.no_key_logged == configured;
  shared->pool.no_key_logged = !configured;
  LWLockRelease(shared->lock);
  if (changed && !configured)
    ereport(WARNING, (errmsg("spawn: the mailbox workers wait for a state store key and run no "
                             "message until one is configured"),
                      errdetail("No message is counted as a failed attempt meanwhile."),
                      errhint("Configure the state store key and restart the server.")));
  else if (changed)
    ereport(LOG, (errmsg("spawn: a state store key is configured; the mailbox workers go on")));
  return configured;
}

}  // namespace

// Runs one drain transaction and updates the process's counters.
bool DrainOnce(ProcessSlot *slot, DrainResult *result) {
  memset(result, 0, sizeof *result);
  result->next_due_ms = -1;
  if (!KeyReady()) {
    result->next_due_ms = 1000;
    return true;
  }
  const TimestampTz started = GetCurrentTimestamp();
  DrainWork work{slot, result, CurrentMemoryContext};
  const bool ok = RunCatalogTransaction("draining the mailbox", DrainBody, &work);
  slot->busy_role = InvalidOid;  // also after an error that skipped DrainBody's reset
  SlotRunning(slot, 0, 0);
  if (!ok) {
    result->processed = result->failed = 0;
    result->replied_count = 0;
  }
  if (result->processed > 0) {
    slot->processed += static_cast<uint64>(result->processed - result->failed);
    slot->failed += static_cast<uint64>(result->failed);
    slot->batches += 1;
    slot->max_batch = Max(slot->max_batch, static_cast<uint32>(result->processed));
    slot->busy_us += static_cast<uint64>(GetCurrentTimestamp() - started);
  }
  return ok;
}

}  // namespace spawn
