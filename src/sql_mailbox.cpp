// SQL entry points of asynchronous work: spawn.cast, spawn.invoke_async, spawn.result,
// spawn.wait, spawn._wake_workers and spawn._worker_stats (behind the spawn.worker_stats view).
#include <cctype>

#include "src/catalog.hpp"
#include "src/guard.hpp"
#include "src/invoke.hpp"
#include "src/key_check.hpp"
#include "src/identity.hpp"
#include "src/idempotency.hpp"
#include "src/mailbox.hpp"
#include "src/name_check.hpp"
#include "src/replies.hpp"
#include "src/shared.hpp"
#include "src/spi_util.hpp"
#include "src/sql_args.hpp"
#include "src/workflow.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "pgstat.h"
#include "utils/timestamp.h"
}

namespace {

using spawn::OptionalJsonb;
using spawn::OptionalText;
using spawn::RequiredText;

// Raises 42602 unless the channel is a plain identifier (what LISTEN accepts unquoted).
void CheckChannel(const char *channel) {
  bool ok = channel[0] != '\0' && strlen(channel) < NAMEDATALEN &&
            (isalpha(static_cast<unsigned char>(channel[0])) || channel[0] == '_');
  for (const char *c = channel; ok && *c; ++c)
    ok = isalnum(static_cast<unsigned char>(*c)) || *c == '_' || *c == '$';
  if (!ok)
    ereport(ERROR, (errcode(ERRCODE_INVALID_NAME), errmsg("invalid reply channel \"%s\"", channel),
                    errhint("A reply channel is an identifier of letters, digits, _ and $ that "
                            "does not start with a digit, such as spawn_reply.")));
}

// Validates the target and enqueues; shared by cast and invoke_async. With an idempotency key
// the role used before, returns that request's id and enqueues nothing.
int64 EnqueueChecked(spawn::Message *message, const char *idempotency_key) {
  message->run_as = spawn::CallerRole();  // also inside a handler a worker runs
  spawn::InvokeRequest names{message->system, message->actor, message->action,
                             nullptr,         nullptr,        message->register_ref};
  spawn::CheckRequestNames(&names);
  spawn::RequireKeysForMessages();
  int64 id = 0;
  spawn::RunInSpi([&](spawn::Catalog *catalog) {
    spawn::ValidateTarget(catalog, message->system, message->actor, message->action,
                          message->register_ref);
    if (idempotency_key != nullptr &&
        !spawn::IdempotencyClaim(catalog, idempotency_key, message->run_as, &id))
      return;
    id = spawn::Enqueue(catalog, message);
    if (idempotency_key != nullptr)
      spawn::IdempotencyRecord(catalog, idempotency_key, message->run_as, id);
  });
  return id;
}

// A text column of a result row from a string that may be NULL.
void SetText(Datum *value, bool *isnull, const char *text) {
  *isnull = text == nullptr;
  *value = text ? CStringGetTextDatum(text) : static_cast<Datum>(0);
}

// Waits until request `id` leaves the mailbox or the timeout passes; returns its reply, still
// "pending" after a timeout. The wait sleeps on the latch a worker sets when it replies.
spawn::Reply AwaitReply(const spawn::Catalog *catalog, int64 id, int timeout_ms) {
  const TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
  volatile int slot = -1;
  spawn::Reply reply{};
  PG_TRY();
  {
    slot = spawn::WaiterRegister(id);
    for (;;) {
      reply = spawn::ReadReply(catalog, id);
      if (strcmp(reply.status, "pending") != 0) break;
      if (reply.uncommitted)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("request %lld is not committed yet", static_cast<long long>(id)),
                        errdetail("Workers only see requests whose transaction has committed."),
                        errhint("Commit the transaction that called spawn.invoke_async, then "
                                "wait for the reply.")));
      long remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
      if (remaining <= 0) break;
      // Without a waiter slot (all taken), poll every 10 ms instead of waiting for a wakeup.
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                      slot >= 0 ? remaining : Min(remaining, 10L), PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
    }
  }
  PG_FINALLY();
  { spawn::WaiterRelease(slot); }
  PG_END_TRY();
  return reply;
}

// Raises the error request `id` failed with: its message, SQLSTATE, detail and hint as the
// handler raised them, and a context line naming the request.
void RaiseReplyError(const spawn::Reply *reply, int64 id) {
  const char *state = reply->sqlstate ? reply->sqlstate : "XX000";
  ereport(ERROR, (errcode(MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4])),
                  errmsg_internal("%s", reply->error),
                  reply->detail ? errdetail_internal("%s", reply->detail) : 0,
                  reply->hint ? errhint("%s", reply->hint) : 0,
                  errcontext("action \"%s\" of actor \"%s\", request %lld", reply->action,
                             reply->actor, static_cast<long long>(id))));
}

}  // namespace

// spawn.cast(actor, action, payload, system, delay_ms, scheduled_to, metadata, register_ref,
//            idempotency_key)
SPAWN_FUNCTION(spawn_cast) {
  spawn::Message message{};
  message.actor = RequiredText(fcinfo, 0, "actor");
  message.action = RequiredText(fcinfo, 1, "action");
  message.payload = OptionalJsonb(fcinfo, 2);
  message.system = RequiredText(fcinfo, 3, "system");
  const int64 delay_ms = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT64(4);
  message.metadata = OptionalJsonb(fcinfo, 6);
  message.register_ref = OptionalText(fcinfo, 7);
  message.source = "cast";
  if (!PG_ARGISNULL(5) && delay_ms != 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("delay_ms and scheduled_to cannot both be given"),
                    errhint("Pass either a delay or a delivery time.")));
  if (!PG_ARGISNULL(5)) spawn::RequireFiniteTime(PG_GETARG_TIMESTAMPTZ(5), "scheduled_to");
  message.deliver_at =
      PG_ARGISNULL(5) ? spawn::DeliveryAfter(delay_ms, "delay_ms") : PG_GETARG_TIMESTAMPTZ(5);
  PG_RETURN_INT64(EnqueueChecked(&message, OptionalText(fcinfo, 8)));
}

// spawn.invoke_async(actor, action, payload, system, reply_channel, metadata, register_ref,
//                    idempotency_key)
SPAWN_FUNCTION(spawn_invoke_async) {
  spawn::Message message{};
  message.actor = RequiredText(fcinfo, 0, "actor");
  message.action = RequiredText(fcinfo, 1, "action");
  message.payload = OptionalJsonb(fcinfo, 2);
  message.system = RequiredText(fcinfo, 3, "system");
  message.reply_channel = RequiredText(fcinfo, 4, "reply_channel");
  message.metadata = OptionalJsonb(fcinfo, 5);
  message.register_ref = OptionalText(fcinfo, 6);
  message.source = "async";
  message.deliver_at = GetCurrentTimestamp();
  CheckChannel(message.reply_channel);
  PG_RETURN_INT64(EnqueueChecked(&message, OptionalText(fcinfo, 7)));
}

// spawn.result(id) -> (status, response, error, sqlstate, detail, hint)
SPAWN_FUNCTION(spawn_result) {
  if (PG_ARGISNULL(0))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("id must not be null")));
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "spawn: result must return a row");
  desc = BlessTupleDesc(desc);
  return spawn::ReturnFromSpi(fcinfo, [&](spawn::Catalog *catalog) {
    spawn::Reply reply = spawn::ReadReply(catalog, PG_GETARG_INT64(0));
    Datum values[6];
    bool nulls[6];
    SetText(&values[0], &nulls[0], reply.status);
    values[1] = PointerGetDatum(reply.response);
    nulls[1] = reply.response == nullptr;
    SetText(&values[2], &nulls[2], reply.error);
    SetText(&values[3], &nulls[3], reply.sqlstate);
    SetText(&values[4], &nulls[4], reply.detail);
    SetText(&values[5], &nulls[5], reply.hint);
    return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
  });
}

// spawn.wait(id, timeout_ms) RETURNS jsonb: sleeps on its latch until a worker replies; raises
// the request's error as the handler raised it.
SPAWN_FUNCTION(spawn_wait) {
  if (PG_ARGISNULL(0))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("id must not be null")));
  const int64 id = PG_GETARG_INT64(0);
  const int timeout_ms = PG_ARGISNULL(1) ? 5000 : PG_GETARG_INT32(1);
  if (timeout_ms < 0)
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("timeout_ms must not be negative")));
  return spawn::ReturnFromSpi(fcinfo, [&](spawn::Catalog *catalog) {
    const spawn::Reply reply = AwaitReply(catalog, id, timeout_ms);
    if (strcmp(reply.status, "pending") == 0)
      ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED),
                      errmsg("timed out after %d ms waiting for request %lld", timeout_ms,
                             static_cast<long long>(id)),
                      errhint("The request is still pending; wait again or poll "
                              "spawn.result(%lld).",
                              static_cast<long long>(id))));
    if (strcmp(reply.status, "error") == 0) RaiseReplyError(&reply, id);
    if (reply.response == nullptr) PG_RETURN_NULL();
    PG_RETURN_JSONB_P(reply.response);
  });
}

// spawn._wake_workers(): wakes the workers and the launcher at commit.
SPAWN_FUNCTION(spawn_wake_workers) {
  spawn::WakeWorkersAtCommit();
  spawn::WakeLauncherAtCommit();
  PG_RETURN_VOID();
}

// spawn._worker_stats(): one row per running scheduler process (the spawn.worker_stats view).
SPAWN_FUNCTION(spawn_worker_stats) {
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  InitMaterializedSRF(fcinfo, 0);
  spawn::SharedState *shared = spawn::Shared();
  for (int i = 0; shared != nullptr && i <= spawn::kMaxWorkers; ++i) {
    const spawn::ProcessSlot slot = shared->processes[i];
    if (slot.pid == 0) continue;
    Datum values[10];
    bool nulls[10] = {};
    values[0] = Int32GetDatum(i);
    values[1] = Int32GetDatum(slot.pid);
    values[2] = CStringGetTextDatum(i == spawn::kLauncherSlot ? "launcher" : "worker");
    values[3] = Int64GetDatum(static_cast<int64>(slot.processed));
    values[4] = Int64GetDatum(static_cast<int64>(slot.failed));
    values[5] = Int64GetDatum(static_cast<int64>(slot.batches));
    values[6] = Int32GetDatum(static_cast<int32>(slot.max_batch));
    nulls[7] = slot.batches == 0;
    values[7] = DirectFunctionCall1(
        float8_numeric,
        Float8GetDatum(slot.batches ? static_cast<double>(slot.processed + slot.failed) /
                                          static_cast<double>(slot.batches)
                                    : 0.0));
    values[8] = Int64GetDatum(static_cast<int64>(slot.busy_us / 1000));
    values[9] = TimestampTzGetDatum(slot.started_at);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return static_cast<Datum>(0);
}

// spawn.broadcast(channel, action, payload, system) RETURNS bigint
SPAWN_FUNCTION(spawn_broadcast) {
  const char *channel = RequiredText(fcinfo, 0, "channel");
  const char *action = OptionalText(fcinfo, 1);
  Jsonb *payload = OptionalJsonb(fcinfo, 2);
  const char *system = RequiredText(fcinfo, 3, "system");
  spawn::RequireName("channel", channel, strlen(channel));
  spawn::RequireName("system", system, strlen(system));
  if (action != nullptr) spawn::RequireName("action", action, strlen(action));
  int64 count = 0;
  spawn::RunInSpi([&](spawn::Catalog *catalog) {
    Oid types[1] = {TEXTOID};
    Datum args[1] = {CStringGetTextDatum(system)};
    SPI_execute_with_args("SELECT spawn._require_system($1)", 1, types, args, nullptr, true, 1);
    count = spawn::Broadcast(catalog, system, channel, action, payload);
  });
  PG_RETURN_INT64(count);
}
