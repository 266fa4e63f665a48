// One transaction, one actor:
//  1. pick candidate actors whose queue head is due (delivery order is (deliver_at, id));
//  2. take the first actor whose single-writer lock is free (pooled actors: no lock, rows are
//     claimed with FOR UPDATE SKIP LOCKED instead);
//  3. open the actor once, run each message in a subtransaction; the first failure stops the
//     batch (the actor's later messages wait behind it, keeping FIFO order);
//  4. write the state once, delete the processed messages, store replies, and either schedule
//     the failed message's retry (exponential backoff) or park it as a dead letter.
// State change, message removal and reply commit together; a crash loses nothing and
// repeats nothing.
#include "drain.hpp"

#include "actor_lock.hpp"
#include "catalog.hpp"
#include "invoke.hpp"
#include "process.hpp"
#include "projection.hpp"
#include "replies.hpp"
#include "sealed.hpp"
#include "settings.hpp"
#include "spi_util.hpp"

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
SPIPlanPtr batch_plan = nullptr;
SPIPlanPtr pooled_batch_plan = nullptr;
SPIPlanPtr delete_plan = nullptr;
SPIPlanPtr retry_plan = nullptr;
SPIPlanPtr dead_letter_plan = nullptr;
SPIPlanPtr next_due_plan = nullptr;
TimeoutId handler_terminate_timeout = MAX_TIMEOUTS;  // registered on a message's first timeout

// One message of a batch.
struct Pending {
  int64 id;
  const char *action;
  const char *register_ref;
  SealedValue payload;
  bool has_payload;
  Jsonb *metadata;
  const char *reply_channel;
  bool blocked;  // waiting for its retry time
  int attempts;
  Oid run_as;       // the role that sent it
  bool projection;  // an async projection's update; action is the projection's name
  bool superseded;  // a later update of the same projection is in the batch
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

// Reads the batch rows of one actor.
int FetchBatch(const Catalog *cat, const char *system, const char *actor, bool pooled,
               Pending **out) {
  Oid types[3] = {TEXTOID, TEXTOID, INT4OID};
  const char *select =
      "SELECT id, action, register_ref, key_id, nonce, payload, metadata, reply_channel, "
      "coalesce(retry_at > now(), false), attempts, run_as, source = 'projection' FROM "
      "spawn._mailbox "
      "WHERE system = $1 AND actor = $2 AND deliver_at <= now() ORDER BY deliver_at, id LIMIT $3";
  SPIPlanPtr plan = pooled ? PrepareKept(&pooled_batch_plan,
                                         psprintf("%s FOR UPDATE SKIP LOCKED", select), 3, types)
                           : PrepareKept(&batch_plan, select, 3, types);
  Datum values[3] = {CStringGetTextDatum(system), CStringGetTextDatum(actor),
                     Int32GetDatum(setting_batch_size)};
  ExecutePlanAsOwner(cat, plan, values, nullptr, false, 0);
  SPITupleTable *rows = SPI_tuptable;
  const int count = static_cast<int>(SPI_processed);
  auto *batch = static_cast<Pending *>(palloc0(sizeof(Pending) * (count > 0 ? count : 1)));
  for (int i = 0; i < count; ++i) {
    HeapTuple row = rows->vals[i];
    TupleDesc desc = rows->tupdesc;
    bool isnull;
    Pending *p = &batch[i];
    p->id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
    p->action = SPI_getvalue(row, desc, 2);
    p->register_ref = SPI_getvalue(row, desc, 3);
    Datum key_id = SPI_getbinval(row, desc, 4, &isnull);
    p->has_payload = !isnull;
    if (p->has_payload) {
      p->payload.key_id = DatumGetInt64(key_id);
      p->payload.nonce = DatumGetByteaPCopy(SPI_getbinval(row, desc, 5, &isnull));
      p->payload.ciphertext = DatumGetByteaPCopy(SPI_getbinval(row, desc, 6, &isnull));
    }
    Datum metadata = SPI_getbinval(row, desc, 7, &isnull);
    p->metadata = isnull ? nullptr : DatumGetJsonbPCopy(metadata);
    p->reply_channel = SPI_getvalue(row, desc, 8);
    p->blocked = DatumGetBool(SPI_getbinval(row, desc, 9, &isnull));
    p->attempts = DatumGetInt32(SPI_getbinval(row, desc, 10, &isnull));
    p->run_as = DatumGetObjectId(SPI_getbinval(row, desc, 11, &isnull));
    p->projection = DatumGetBool(SPI_getbinval(row, desc, 12, &isnull));
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
  ErrorData *failure;  // the error that stopped the batch, or NULL
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

// Runs one message in a subtransaction; returns false (with run->failure set) if it failed.
bool RunMessage(BatchRun *run, const Pending *p) {
  MemoryContext outer_context = CurrentMemoryContext;
  ResourceOwner outer_owner = CurrentResourceOwner;
  volatile bool ok = true;
  SavedUser worker;
  const OpenActorMark mark = MarkOpenActor(run);
  // Settings a handler changes (even with is_local = false) end with its message.
  const int guc_level = NewGUCNestLevel();
  BeginInternalSubTransaction(nullptr);
  MemoryContextSwitchTo(outer_context);
  const Oid worker_session = GetSessionUserId();
  const TimestampTz started = GetCurrentTimestamp();
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
        StoreReply(run->cat, &target, response, nullptr, nullptr);
      }
    }
    DisarmHandlerTimeout();
    RestoreUser(&worker);
    SetSessionAuthorization(worker_session, true);
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
    ResetOpenActor(run, mark);
    ok = false;
  }
  PG_END_TRY();
  return ok;
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
  Datum values[3] = {Int64GetDatum(p->id), CStringGetTextDatum(message), 0};
  if (attempts >= setting_max_attempts) {
    Oid types[2] = {INT8OID, TEXTOID};
    SPIPlanPtr plan = PrepareKept(
        &dead_letter_plan,
        "WITH moved AS (DELETE FROM spawn._mailbox WHERE id = $1 RETURNING *) "
        "INSERT INTO spawn._dead_letters (id, system, actor, action, register_ref, key_id, nonce, "
        "payload, metadata, reply_channel, run_as, source, deliver_at, attempts, last_error, "
        "created_at) SELECT id, system, actor, action, register_ref, key_id, nonce, payload, "
        "metadata, reply_channel, run_as, source, deliver_at, attempts + 1, $2, created_at "
        "FROM moved",
        2, types);
    ExecutePlanAsOwner(run->cat, plan, values, nullptr, false, 0);
    if (p->reply_channel != nullptr) {
      ReplyTarget target{p->id, run->system, run->actor, p->action, p->reply_channel, p->run_as};
      StoreReply(run->cat, &target, nullptr, e->message ? e->message : "unknown error", sqlstate);
      result->replied[result->replied_count++] = p->id;
    }
    ereport(LOG, (errmsg("spawn: message %lld to actor \"%s\" became a dead letter after %d "
                         "attempts: %s",
                         static_cast<long long>(p->id), run->actor, attempts, message)));
    return;
  }
  // Exponential backoff: base, 2 x base, 4 x base, ... capped at one hour.
  double delay = static_cast<double>(setting_retry_base_ms) * (1 << Min(attempts - 1, 20));
  values[2] = Int64GetDatum(static_cast<int64>(Min(delay, 3600.0 * 1000)));
  Oid types[3] = {INT8OID, TEXTOID, INT8OID};
  SPIPlanPtr plan =
      PrepareKept(&retry_plan,
                  "UPDATE spawn._mailbox SET attempts = attempts + 1, last_error = $2, "
                  "retry_at = clock_timestamp() + $3 * interval '1 millisecond' "
                  "WHERE id = $1",
                  3, types);
  ExecutePlanAsOwner(run->cat, plan, values, nullptr, false, 0);
}

// Processes the batch of one actor; returns the number of messages that ran.
int ProcessActor(const Catalog *cat, const char *system, const char *actor, bool pooled,
                 DrainResult *result) {
  Pending *batch;
  const int count = FetchBatch(cat, system, actor, pooled, &batch);
  BatchRun run{cat, system, actor, {}, false, nullptr};
  auto *done = static_cast<int64 *>(palloc(sizeof(int64) * (count > 0 ? count : 1)));
  int done_count = 0;
  int ran = 0;
  const Pending *failed = nullptr;
  result->replied = static_cast<int64 *>(palloc(sizeof(int64) * (count + 1)));
  for (int i = 0; i < count; ++i) {
    if (batch[i].blocked) break;
    ++ran;
    if (!RunMessage(&run, &batch[i])) {
      failed = &batch[i];
      break;
    }
    done[done_count++] = batch[i].id;
    if (batch[i].reply_channel != nullptr) result->replied[result->replied_count++] = batch[i].id;
  }
  if (run.opened && done_count > 0) ActorClose(&run.open);
  if (done_count > 0) {
    Oid types[1] = {INT8ARRAYOID};
    SPIPlanPtr plan =
        PrepareKept(&delete_plan, "DELETE FROM spawn._mailbox WHERE id = ANY($1)", 1, types);
    Datum values[1] = {IdArray(done, done_count)};
    ExecutePlanAsOwner(cat, plan, values, nullptr, false, 0);
  }
  if (failed != nullptr) {
    RecordFailure(&run, failed, result);
    result->failed = 1;
  }
  return ran;
}

// An actor whose next message is due, and the role that sent that message.
struct Candidate {
  char *system;
  char *actor;
  Oid role;
};

// Lists actors whose next message is due, oldest first.
int FetchCandidates(const Catalog *cat, Candidate **out) {
  SPIPlanPtr plan =
      PrepareKept(&candidates_plan,
                  "SELECT m.system, m.actor, m.run_as FROM spawn._mailbox m "
                  "WHERE m.deliver_at <= now() AND (m.retry_at IS NULL OR m.retry_at <= now()) "
                  // A correlated LIMIT 1 subquery: an index probe per candidate, never a hash of
                  // the whole mailbox.
                  "AND m.id = (SELECT h.id FROM spawn._mailbox h WHERE h.system = m.system "
                  "AND h.actor = m.actor ORDER BY h.deliver_at, h.id LIMIT 1) "
                  "ORDER BY m.deliver_at, m.id LIMIT 16",
                  0, nullptr);
  ExecutePlanAsOwner(cat, plan, nullptr, nullptr, true, 0, true);
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

// True when `role` already occupies as many other workers as one role may (so that a role whose
// handlers are slow always leaves a worker to the others).
bool RoleAtItsShare(const ProcessSlot *self, Oid role) {
  const int share =
      setting_max_workers_per_role > 0 ? setting_max_workers_per_role : Max(setting_workers - 1, 1);
  SharedState *shared = Shared();
  int busy = 0;
  for (int i = 1; i <= kMaxWorkers; ++i) {
    const ProcessSlot *slot = &shared->processes[i];
    if (slot != self && slot->pid != 0 && slot->busy_role == role) ++busy;
  }
  return busy >= share;
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
void DrainBody(void *arg) {
  auto *work = static_cast<DrainWork *>(arg);
  DrainResult *result = work->result;
  Catalog *cat = CatalogAcquire();
  Candidate *candidates;
  const int count = FetchCandidates(cat, &candidates);
  bool blocked = false;
  for (int i = 0; i < count && result->processed == 0; ++i) {
    const Candidate *c = &candidates[i];
    if (RoleAtItsShare(work->slot, c->role)) {
      blocked = true;
      continue;
    }
    const Definition *def = CatalogFindByName(c->system, c->actor);
    const bool pooled = def != nullptr && def->kind == ActorKind::kPooled;
    if (!pooled && !ActorLockAcquire(c->system, c->actor, false)) {
      blocked = true;
      continue;
    }
    work->slot->busy_role = c->role;
    result->processed = ProcessActor(cat, c->system, c->actor, pooled, result);
    work->slot->busy_role = InvalidOid;
  }
  if (result->processed == 0) result->next_due_ms = blocked ? 50 : NextDueMs(cat);
  auto *kept = static_cast<int64 *>(
      MemoryContextAlloc(work->result_context, sizeof(int64) * (result->replied_count + 1)));
  if (result->replied_count > 0)
    memcpy(kept, result->replied, sizeof(int64) * result->replied_count);
  result->replied = kept;
  CatalogRelease();
}

}  // namespace

// Runs one drain transaction and updates the process's counters.
bool DrainOnce(ProcessSlot *slot, DrainResult *result) {
  memset(result, 0, sizeof *result);
  result->next_due_ms = -1;
  const TimestampTz started = GetCurrentTimestamp();
  DrainWork work{slot, result, CurrentMemoryContext};
  const bool ok = RunTransaction("draining the mailbox", DrainBody, &work);
  slot->busy_role = InvalidOid;  // also after an error that skipped DrainBody's reset
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
