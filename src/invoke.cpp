// Order of work: validate names; resolve a pooled definition from the cache (pooled actors take
// no lock and keep no state); otherwise lock by name hash, fetch the instance row, and resolve
// the definition by id. The lock comes before the read, so the state read is the latest one
// (a writer that let its advisory lock go early is waited for, actor_lock.hpp).
//
// Re-entrancy: an actor whose handler (directly or through others) invokes the same actor again
// in one transaction would overwrite its own state; that is refused with a clear error.
#include "src/invoke.hpp"

#include "src/actor_lock.hpp"
#include "src/dispatch.hpp"
#include "src/history.hpp"
#include "src/journal.hpp"
#include "src/name_check.hpp"
#include "src/not_found.hpp"
#include "src/privilege.hpp"
#include "src/projection.hpp"
#include "src/shard_route.hpp"
#include "src/spi_util.hpp"
#include "src/timers.hpp"
#include "src/workflow.hpp"

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

// Copies a jsonb value into a memory context.
Jsonb *CopyJsonb(MemoryContext context, const Jsonb *value) {
  if (value == nullptr) return nullptr;
  auto *copy = static_cast<Jsonb *>(MemoryContextAlloc(context, VARSIZE(value)));
  memcpy(copy, value, VARSIZE(value));
  return copy;
}

// Calls one handler.
void RunHandler(OpenActor *actor, const Handler *handler, const InvokeRequest *req,
                const char *caller, Jsonb *payload, HandlerResult *result) {
  HandlerCall call{actor->definition,
                   handler,
                   req->actor,
                   handler == &actor->definition->host_default ? req->action : handler->action,
                   actor->pooled ? 0 : actor->row.revision,
                   caller,
                   req->metadata,
                   actor->state,
                   payload,
                   !actor->pooled && !actor->row.has_state && actor->changes == 0};
  CallHandler(actor->catalog, &call, result);
}

// Keeps a handler's new state and counts it as a revision when it differs; journaled actors
// record the change.
void ApplyState(OpenActor *actor, const InvokeRequest *req, const Handler *handler,
                const char *caller, const Jsonb *payload, const HandlerResult *result) {
  const Jsonb *state = result->state;
  if (state == nullptr || actor->pooled || !actor->definition->stateful) return;
  actor->checkpoint |= result->checkpoint;
  if (SameJsonb(state, actor->state)) return;
  actor->state = CopyJsonb(actor->context, state);
  ++actor->changes;
  if (actor->definition->journal)
    JournalRecord(actor, handler->action, payload, result->response, req->metadata, caller);
}

// Meets the actor's other writers at its advisory lock and reads its row. Tries the lock first:
// when another transaction holds it but this one already wrote the row (its advisory lock let
// go early), the row version is ours and keeps every other writer out, so no lock is needed
// (waiting would deadlock with the holder, which waits for us). Returns false only without wait.
//
// A busy lock is where a hot actor's callers queue, so the index descent is made before
// waiting: once the lock is ours, the row is read again from the HOT chain the index pointed
// to (StateFetchForWrite with a root hint), which holds the lock over a page read instead of an
// index descent. The read after the lock still uses the latest snapshot, so it sees every write
// committed while this backend waited; a chain without a visible version of the actor (a
// non-HOT update, VACUUM, a deletion) falls back to the index.
bool OpenLocked(const Catalog *cat, const InvokeRequest *req, bool wait, OpenActor *out) {
  ActorLockTake(req->system, req->actor, false, &out->lock);
  ItemPointerData root;
  const ItemPointerData *root_hint = nullptr;
  if (!out->lock.taken) {
    if (StateFetch(cat, req->system, req->actor, &out->row)) {
      if (StateRowIsOurs(&out->row)) return true;
      root = out->row.root;
      root_hint = &root;
    }
    if (!wait) return false;
    ActorLockTake(req->system, req->actor, true, &out->lock);
  }
  FetchOutcome found = StateFetchForWrite(cat, req->system, req->actor, wait, &out->row, root_hint);
  if (found == FetchOutcome::kBusy) {
    ActorLockLetGo(&out->lock);
    return false;
  }
  if (found == FetchOutcome::kMissing) {
    if (req->register_ref == nullptr) RaiseActorNotFound(req->system, req->actor);
    SpawnFromTemplate(req->system, req->actor, req->register_ref);
    if (!StateFetch(cat, req->system, req->actor, &out->row))
      elog(ERROR, "spawn: instance \"%s\" vanished after it was spawned", req->actor);
  }
  return true;
}

}  // namespace

// Takes the lock without waiting, then reads the row unless an updater is in progress.
bool ActorTryClaim(const Catalog *cat, const char *system, const char *actor, InstanceRow *row,
                   ActorLockHold *hold) {
  ActorLockTake(system, actor, false, hold);
  if (!hold->taken) return false;
  const FetchOutcome found = StateFetchForWrite(cat, system, actor, false, row);
  if (found == FetchOutcome::kBusy) {
    ActorLockLetGo(hold);
    return false;
  }
  if (found == FetchOutcome::kMissing) row->exists = false;
  return true;
}

// Throws for a bad name in the request.
void CheckRequestNames(const InvokeRequest *req) {
  RequireName("system", req->system, strlen(req->system));
  RequireName("actor", req->actor, strlen(req->actor));
  RequireName("action", req->action, strlen(req->action));
  if (req->register_ref != nullptr)
    RequireName("actor", req->register_ref, strlen(req->register_ref));
}

// Locks, fetches and decrypts.
bool ActorOpen(const Catalog *cat, const InvokeRequest *req, bool wait, OpenActor *out) {
  memset(out, 0, sizeof *out);
  out->catalog = cat;
  out->context = CurrentMemoryContext;
  const Definition *def = CatalogFindByName(req->system, req->actor);
  if (def != nullptr && def->kind == ActorKind::kPooled) {
    out->definition = def;
    out->pooled = true;
    out->state = EmptyState();
    out->activated = true;
    return true;
  }
  if (def != nullptr && def->kind == ActorKind::kUnnamed) RaiseTemplateInvoked(def);
  if (!OpenLocked(cat, req, wait, out)) return false;
  out->definition = CatalogFindById(out->row.definition_id);
  if (out->definition == nullptr) RaiseActorNotFound(req->system, req->actor);
  out->state = out->definition->stateful ? StateDecrypt(&out->row) : EmptyState();
  out->activated = out->row.active;
  return true;
}

// Runs init if needed, then the action (or the built-in get) and its workflow, with the actor
// marked as running throughout.
Jsonb *ActorRun(OpenActor *actor, const InvokeRequest *req) {
  const Definition *def = actor->definition;
  const Handler *handler = DefinitionActionHandler(def, req->action);
  const bool builtin_get = handler == nullptr && (strcmp(req->action, "get") == 0 ||
                                                  strcmp(req->action, "get_state") == 0);
  if (handler == nullptr && !builtin_get) RaiseUnknownAction(def, req->actor, req->action);
  RequirePrivilege(def, builtin_get ? kPrivilegeRead : kPrivilegeInvoke, GetUserId(), req->actor);
  const Handler *init = DefinitionFindHandler(def, "init");
  Jsonb *volatile reply = nullptr;
  volatile bool entered = false;
  PG_TRY();
  {
    const char *caller = CurrentCaller();
    EnterActor(req->system, req->actor);
    entered = true;
    if (!actor->activated && init != nullptr && init != handler) {
      HandlerResult result{};
      RunHandler(actor, init, req, caller, nullptr, &result);
      ApplyState(actor, req, init, caller, nullptr, &result);
      RunWorkflow(actor, req, result.workflow, nullptr);
    }
    actor->activated = true;
    actor->touched = true;
    if (builtin_get) {
      reply = actor->state;
    } else {
      HandlerResult result{};
      RunHandler(actor, handler, req, caller, req->payload, &result);
      ApplyState(actor, req, handler, caller, req->payload, &result);
      reply = RunWorkflow(actor, req, result.workflow, result.response);
    }
  }
  PG_FINALLY();
  {
    if (entered) --running_count;
  }
  PG_END_TRY();
  return CopyJsonb(actor->context, reply);
}

// Writes the state back when there is anything to write.
void ActorClose(OpenActor *actor) {
  if (actor->pooled || !actor->touched) return;
  const bool changed = actor->definition->stateful && actor->changes > 0;
  StateWrite(actor->catalog, &actor->row, changed ? actor->state : nullptr, actor->changes);
  if (actor->checkpoint && actor->definition->stateful)
    HistoryCheckpoint(actor->catalog, actor->row.system, actor->row.name);
  if (changed) {
    JournalFlush(actor);
    ProjectStateChange(actor->catalog, actor->definition, actor->row.system, actor->row.name,
                       actor->row.revision + actor->changes, actor->state);
  }
  if (!actor->row.active && actor->definition->has_timers)
    TimersStart(actor->catalog, actor->row.system, actor->row.name, actor->definition->id);
}

// Runs an invocation inside its own SPI connection.
Jsonb *Invoke(const InvokeRequest *req) {
  CheckRequestNames(req);
  RequireLocalActor(req->system, req->actor);
  MemoryContext caller_context = CurrentMemoryContext;
  Jsonb *result = nullptr;
  RunInSpi([&](Catalog *cat) {
    OpenActor actor;
    ActorOpen(cat, req, true, &actor);
    const bool read_only_get = actor.row.active && !actor.pooled &&
                               DefinitionActionHandler(actor.definition, req->action) == nullptr;
    Jsonb *response = ActorRun(&actor, req);
    if (!read_only_get) ActorClose(&actor);
    if (!actor.pooled) ActorLockAfterUse(&actor.lock);
    result = CopyJsonb(caller_context, response);
  });
  return result;
}

}  // namespace spawn
