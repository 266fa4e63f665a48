// The gateway's transactions, as spawn.http_role and with a pinned search_path, errors caught
// here: the worker is connected as the bootstrap superuser (to read settings and catalogs), but
// no request ever runs as it. SECURITY_LOCAL_USERID_CHANGE keeps user code from SET ROLE or
// SET SESSION AUTHORIZATION back to the superuser.
//
// A batch (RunBatchTransaction) runs many requests in one transaction so that they share one
// commit and its WAL flush. Why that is as safe as one transaction each:
// - each request runs in its own subtransaction: an error rolls back its work (and releases
//   the locks it took) and nothing of the others;
// - the role is switched once for the whole batch and kept through the commit, so nothing of
//   the batch (not even a deferred trigger fired at commit) runs as the superuser; each request
//   pins search_path at its own GUC level and every setting it made (SET LOCAL included) is
//   rolled back when it ends, so no request sees another's settings;
// - the answers are sent only after the commit (gateway_batch.cpp): a 200 means committed,
//   and a failed commit fails every request of the batch (nothing of it was applied);
// - under an isolation level with one snapshot per transaction (default_transaction_isolation
//   repeatable read or serializable) a batch holds one request only, as before.
#include "bgworker/gateway.hpp"
#include "src/guard.hpp"
#include "src/identity.hpp"
#include "src/settings.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace spawn::gateway {

namespace {

Oid gateway_role = InvalidOid;
MemoryContext request_context = nullptr;

// Looks the role up in the catalogs (a transaction must be open); logs why it cannot serve.
bool LookUpRole(const char *name, bool log) {
  if (name == nullptr || name[0] == '\0') {
    if (log)
      ereport(LOG, (errmsg("spawn: the HTTP gateway serves nothing: spawn.http_role is not set"),
                    errhint("Create a role without superuser rights, grant it what the gateway's "
                            "clients may do, set spawn.http_role to it and reload.")));
    return false;
  }
  HeapTuple tuple = SearchSysCache1(AUTHNAME, CStringGetDatum(name));
  if (!HeapTupleIsValid(tuple)) {
    if (log)
      ereport(LOG, (errmsg("spawn: the HTTP gateway serves nothing: spawn.http_role \"%s\" does "
                           "not exist",
                           name)));
    return false;
  }
  const Form_pg_authid role = reinterpret_cast<Form_pg_authid>(GETSTRUCT(tuple));
  const Oid oid = role->oid;
  const bool super = role->rolsuper;
  ReleaseSysCache(tuple);
  if (super) {
    if (log)
      ereport(LOG, (errmsg("spawn: the HTTP gateway serves nothing: spawn.http_role \"%s\" is a "
                           "superuser",
                           name),
                    errdetail("Requests from the network never run as a superuser.")));
    return false;
  }
  gateway_role = oid;
  return true;
}

}  // namespace

// Resolves spawn.http_role in a short transaction of its own.
bool ResolveGatewayRole(bool log) {
  gateway_role = InvalidOid;
  StartTransactionCommand();
  const bool ok = LookUpRole(setting_http_role, log);
  CommitTransactionCommand();
  return ok;
}

// The request's memory context, created on first use.
MemoryContext RequestContext() {
  if (request_context == nullptr)
    request_context =
        AllocSetContextCreate(TopMemoryContext, "spawn gateway request", ALLOCSET_DEFAULT_SIZES);
  return request_context;
}

// Copies text into the request's context.
char *RequestCopy(const char *text) {
  return text == nullptr ? nullptr : MemoryContextStrdup(RequestContext(), text);
}

// One transaction of a request's work, as the gateway's role.
bool RunRequestTransaction(const char *what, void (*fn)(void *), void *arg, TxError *error) {
  MemoryContext outer = CurrentMemoryContext;
  volatile bool ok = true;
  *error = TxError{};
  if (!OidIsValid(gateway_role)) {
    error->message = "the gateway has no valid spawn.http_role";
    error->sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
    return false;
  }
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  pgstat_report_activity(STATE_RUNNING, what);
  Oid saved_user;
  int saved_context;
  GetUserIdAndSecContext(&saved_user, &saved_context);
  PG_TRY();
  {
    SetUserIdAndSecContext(gateway_role, saved_context | SECURITY_LOCAL_USERID_CHANGE);
    const int guc_level = PinInternalSearchPath();
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "spawn: SPI_connect failed");
    RunGuarded(fn, arg);
    SPI_finish();
    AtEOXact_GUC(true, guc_level);
    SetUserIdAndSecContext(saved_user, saved_context);
    PopActiveSnapshot();
    CommitTransactionCommand();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(RequestContext());
    ErrorData *data = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    SetUserIdAndSecContext(saved_user, saved_context);
    error->message = data->message;
    error->detail = data->detail;
    error->sqlstate = data->sqlerrcode;
    ok = false;
  }
  PG_END_TRY();
  pgstat_report_activity(STATE_IDLE, nullptr);
  MemoryContextSwitchTo(outer);
  return ok;
}

namespace {

// Calls the job's work (the shape RunGuarded takes).
void RunJob(void *job) {
  static_cast<Job *>(job)->Run();
}

// Runs one job in a subtransaction of the batch: released when it succeeds, rolled back (and
// the error copied into the request context) when it fails. The caller's memory context and
// resource owner are restored either way.
void RunInSubtransaction(Job *job, JobOutcome *outcome) {
  MemoryContext outer = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  outcome->ran = true;
  outcome->ok = true;
  BeginInternalSubTransaction(nullptr);
  PG_TRY();
  {
    PushActiveSnapshot(GetTransactionSnapshot());
    const int guc_level = PinInternalSearchPath();
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "spawn: SPI_connect failed");
    RunGuarded(RunJob, job);
    SPI_finish();
    // Rolls back every setting the request made, as the end of its own transaction would.
    AtEOXact_GUC(false, guc_level);
    PopActiveSnapshot();
    ReleaseCurrentSubTransaction();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(RequestContext());
    ErrorData *data = CopyErrorData();
    FlushErrorState();
    RollbackAndReleaseCurrentSubTransaction();
    outcome->ok = false;
    outcome->error.message = data->message;
    outcome->error.detail = data->detail;
    outcome->error.sqlstate = data->sqlerrcode;
  }
  PG_END_TRY();
  MemoryContextSwitchTo(outer);
  CurrentResourceOwner = owner;
}

// Marks every job that ran as failed with `error` (the batch did not commit).
void FailAll(JobOutcome *outcomes, int ran, const TxError &error) {
  for (int i = 0; i < ran; ++i) {
    outcomes[i].ok = false;
    outcomes[i].error = error;
  }
}

}  // namespace

// One transaction of a batch of jobs, as the gateway's role.
int RunBatchTransaction(Job *const *jobs, int count, JobOutcome *outcomes, bool *committed) {
  MemoryContext outer = CurrentMemoryContext;
  for (int i = 0; i < count; ++i) outcomes[i] = JobOutcome{};
  if (!OidIsValid(gateway_role)) {
    TxError error;
    error.message = "the gateway has no valid spawn.http_role";
    error.sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
    for (int i = 0; i < count; ++i) outcomes[i].ran = true;
    FailAll(outcomes, count, error);
    *committed = false;
    return count;
  }
  instr_time started, now;
  INSTR_TIME_SET_CURRENT(started);
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  // One snapshot for the whole transaction would let a later request miss what committed
  // meanwhile: under such isolation levels each request keeps a transaction of its own.
  const int limit = IsolationUsesXactSnapshot() ? 1 : count;
  pgstat_report_activity(STATE_RUNNING, limit == 1 ? jobs[0]->What() : "gateway batch");
  Oid saved_user;
  int saved_context;
  GetUserIdAndSecContext(&saved_user, &saved_context);
  SetUserIdAndSecContext(gateway_role, saved_context | SECURITY_LOCAL_USERID_CHANGE);
  int ran = 0;
  while (ran < limit) {
    if (ran > 0) {
      INSTR_TIME_SET_CURRENT(now);
      INSTR_TIME_SUBTRACT(now, started);
      if (INSTR_TIME_GET_MILLISEC(now) >= setting_http_batch_time_ms) break;
    }
    jobs[ran]->first_in_batch = ran == 0;
    jobs[ran]->deferred = false;
    RunInSubtransaction(jobs[ran], &outcomes[ran]);
    if (jobs[ran]->deferred) {  // it did nothing; it runs first in the next batch
      outcomes[ran] = JobOutcome{};
      break;
    }
    ++ran;
  }
  volatile bool ok = true;
  TxError commit_error;
  PG_TRY();
  { CommitTransactionCommand(); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(RequestContext());
    ErrorData *data = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    commit_error.message = data->message;
    commit_error.detail = data->detail;
    commit_error.sqlstate = data->sqlerrcode;
    ok = false;
  }
  PG_END_TRY();
  SetUserIdAndSecContext(saved_user, saved_context);
  if (!ok) FailAll(outcomes, ran, commit_error);
  *committed = ok;
  pgstat_report_activity(STATE_IDLE, nullptr);
  MemoryContextSwitchTo(outer);
  return ran;
}

}  // namespace spawn::gateway
