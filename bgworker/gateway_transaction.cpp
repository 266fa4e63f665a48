// Each gateway request's database work runs in its own transaction, as spawn.http_role and with
// a pinned search_path, caught here: the worker is connected as the bootstrap superuser (to
// read settings and catalogs), but no request ever runs as it. SECURITY_LOCAL_USERID_CHANGE
// keeps user code from SET ROLE or SET SESSION AUTHORIZATION back to the superuser.
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

}  // namespace spawn::gateway
