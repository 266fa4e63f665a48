// Invocation order: validate names, resolve a pooled definition from the cache (pooled actors
// take no lock and keep no state), otherwise lock by name hash, fetch the instance row, then
// resolve the definition by id. The lock comes before the read so that the state read is the
// latest committed one.
//
// Re-entrancy: an actor whose handler (directly or through others) invokes the same actor again
// in one transaction would overwrite its own state; that is refused with a clear error.
#include "invoke.hpp"

#include "actor_lock.hpp"
#include "catalog.hpp"
#include "dispatch.hpp"
#include "names.hpp"
#include "not_found.hpp"
#include "state_store.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace spawn {

namespace {

constexpr int kMaxNesting = 32;

// Actors whose handlers are running in this backend, innermost last.
const char *running_systems[kMaxNesting];
const char *running_actors[kMaxNesting];
int running_count = 0;

// Records that an actor's handler is about to run; refuses re-entry and deep nesting.
void EnterActor(const char *system, const char *actor) {
  for (int i = 0; i < running_count; ++i)
    if (strcmp(running_actors[i], actor) == 0 && strcmp(running_systems[i], system) == 0)
      ereport(ERROR,
              (errcode(ERRCODE_OBJECT_IN_USE),
               errmsg("actor \"%s\" is already processing a message in this transaction", actor),
               errdetail("An actor's handler invoked the same actor again, directly or through "
                         "other actors."),
               errhint("Use spawn.cast for messages an actor sends to itself.")));
  if (running_count >= kMaxNesting)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("actor invocations are nested more than %d deep", kMaxNesting)));
  running_systems[running_count] = system;
  running_actors[running_count] = actor;
  ++running_count;
}

// The actor whose handler is running, i.e. the caller of a nested invocation.
const char *CurrentCaller() {
  return running_count > 0 ? running_actors[running_count - 1] : nullptr;
}

// True when two jsonb values have identical binary images (and so are equal).
bool SameJsonb(const Jsonb *a, const Jsonb *b) {
  return VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0;
}

// Fills the common part of a handler call.
HandlerCall MakeCall(const Definition *def, const Handler *handler, const InvokeRequest *req,
                     const char *caller, int64 revision, Jsonb *state, Jsonb *payload) {
  return HandlerCall{def, handler, req->actor, handler->action, revision,
                     caller, req->metadata, state, payload};
}

// Pooled actors: no lock, no state, no activation bookkeeping.
Jsonb *InvokePooled(const Catalog *cat, const Definition *def, const InvokeRequest *req,
                    const char *caller) {
  const Handler *handler = DefinitionFindHandler(def, req->action);
  if (handler == nullptr) RaiseUnknownAction(def, req->actor, req->action);
  HandlerResult result{};
  HandlerCall call = MakeCall(def, handler, req, caller, 0, EmptyState(), req->payload);
  CallHandler(cat, &call, &result);
  return result.response;
}

// Locks and fetches the instance, spawning it from register_ref when asked.
void LockAndFetch(const Catalog *cat, const InvokeRequest *req, InstanceRow *row) {
  ActorLockAcquire(req->system, req->actor);
  if (StateFetch(cat, req->system, req->actor, row)) return;
  if (req->register_ref == nullptr) RaiseActorNotFound(req->system, req->actor);
  SpawnFromTemplate(req->system, req->actor, req->register_ref);
  if (!StateFetch(cat, req->system, req->actor, row))
    elog(ERROR, "spawn: instance \"%s\" vanished after it was spawned", req->actor);
}

// The invocation proper, with the actor marked as running.
Jsonb *InvokeEntered(const Catalog *cat, const InvokeRequest *req, const char *caller) {
  const Definition *def = CatalogFindByName(req->system, req->actor);
  if (def != nullptr && def->kind == ActorKind::kPooled)
    return InvokePooled(cat, def, req, caller);
  if (def != nullptr && def->kind == ActorKind::kUnnamed) RaiseTemplateInvoked(def);

  InstanceRow row;
  LockAndFetch(cat, req, &row);
  def = CatalogFindById(row.definition_id);
  if (def == nullptr) RaiseActorNotFound(req->system, req->actor);
  const Handler *handler = DefinitionFindHandler(def, req->action);
  const bool builtin_get =
      handler == nullptr &&
      (strcmp(req->action, "get") == 0 || strcmp(req->action, "get_state") == 0);
  if (handler == nullptr && !builtin_get) RaiseUnknownAction(def, req->actor, req->action);

  Jsonb *const stored = def->stateful ? StateDecrypt(&row) : EmptyState();
  Jsonb *state = stored;
  const Handler *init = DefinitionFindHandler(def, "init");
  if (!row.active && init != nullptr && init != handler) {
    HandlerResult result{};
    HandlerCall call = MakeCall(def, init, req, caller, row.revision, state, nullptr);
    CallHandler(cat, &call, &result);
    if (result.state != nullptr) state = result.state;
  }

  Jsonb *response = state;
  if (!builtin_get) {
    HandlerResult result{};
    HandlerCall call = MakeCall(def, handler, req, caller, row.revision, state, req->payload);
    CallHandler(cat, &call, &result);
    if (result.state != nullptr) state = result.state;
    response = result.response;
  } else if (row.active) {
    return response;  // a read of an active actor writes nothing
  }
  const bool changed = def->stateful && !SameJsonb(state, stored);
  StateWrite(cat, &row, changed ? state : nullptr);
  return response;
}

// Copies a jsonb value into a memory context.
Jsonb *CopyJsonb(MemoryContext context, const Jsonb *value) {
  if (value == nullptr) return nullptr;
  auto *copy = static_cast<Jsonb *>(MemoryContextAlloc(context, VARSIZE(value)));
  memcpy(copy, value, VARSIZE(value));
  return copy;
}

}  // namespace

// Runs an invocation inside its own SPI connection.
Jsonb *Invoke(const InvokeRequest *req) {
  CheckName("system", req->system, strlen(req->system));
  CheckName("actor", req->actor, strlen(req->actor));
  CheckName("action", req->action, strlen(req->action));
  if (req->register_ref != nullptr) CheckName("actor", req->register_ref, strlen(req->register_ref));

  MemoryContext caller_context = CurrentMemoryContext;
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "spawn: SPI_connect failed");
  Catalog *cat = CatalogAcquire();
  const char *caller = CurrentCaller();
  Jsonb *response = nullptr;
  volatile bool entered = false;
  PG_TRY();
  {
    EnterActor(req->system, req->actor);
    entered = true;
    response = InvokeEntered(cat, req, caller);
  }
  PG_FINALLY();
  {
    if (entered) --running_count;
    CatalogRelease();
  }
  PG_END_TRY();
  Jsonb *result = CopyJsonb(caller_context, response);
  SPI_finish();
  return result;
}

}  // namespace spawn
