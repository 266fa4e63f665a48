// Payloads are sealed with the binding ("mailbox", system, actor, message id), so the id is
// drawn from the sequence before the row is written.
#include "src/mailbox.hpp"

#include "src/dispatch.hpp"
#include "src/mailbox_row.hpp"
#include "src/mailbox_targets.hpp"
#include "src/not_found.hpp"
#include "src/worker_pool.hpp"
#include "src/privilege.hpp"
#include "src/sealed.hpp"
#include "src/served_database.hpp"
#include "src/shard_route.hpp"
#include "src/shared.hpp"
#include "src/state_store.hpp"

extern "C" {
#include "commands/sequence.h"
}

namespace spawn {

namespace {

// Raises unless the definition has the action (or it is the built-in get) and the current user
// may run it: the invoke (or read) privilege, and EXECUTE on the handler function.
void RequireAction(const Definition *def, const char *actor, const char *action) {
  const Handler *handler = DefinitionActionHandler(def, action);
  const bool builtin_get =
      handler == nullptr && (strcmp(action, "get") == 0 || strcmp(action, "get_state") == 0);
  if (handler == nullptr && !builtin_get) RaiseUnknownAction(def, actor, action);
  RequirePrivilege(def, builtin_get ? kPrivilegeRead : kPrivilegeInvoke, GetUserId(), actor);
  if (handler != nullptr) RequireHandlerCallable(def, handler);
}

}  // namespace

// Resolves the target like the invoke path does, without locking it; which definition an
// instance belongs to may come from the backend's cache (mailbox_targets.cpp).
void ValidateTarget(const Catalog *cat, const char *system, const char *actor, const char *action,
                    const char *register_ref) {
  const Definition *def = CatalogFindByName(system, actor);
  if (def != nullptr) {
    if (def->kind == ActorKind::kUnnamed) RaiseTemplateInvoked(def);
    RequireAction(def, actor, action);
    return;
  }
  int32 definition_id = 0;
  bool found = TargetCacheFind(system, actor, &definition_id);
  if (!found) {
    InstanceRow row;
    found = StateFetch(cat, system, actor, &row);
    if (found) {
      definition_id = row.definition_id;
      TargetCacheRemember(cat, &row);
    }
  }
  if (found) {
    def = CatalogFindById(definition_id);
    if (def == nullptr) RaiseActorNotFound(system, actor);
    RequireAction(def, actor, action);
    return;
  }
  if (register_ref == nullptr && ShardIsRemote(system, actor)) return;  // checked on delivery
  if (register_ref == nullptr) RaiseActorNotFound(system, actor);
  const Definition *parent = CatalogFindByName(system, register_ref);
  if (parent == nullptr || parent->kind != ActorKind::kUnnamed)
    ereport(ERROR,
            (errcode(ERRCODE_UNDEFINED_OBJECT),
             errmsg("actor template \"%s\" does not exist in system \"%s\"", register_ref, system),
             errhint("Register it with spawn.register_actor(..., kind => 'unnamed').")));
  RequirePrivilege(parent, kPrivilegeSpawn, GetUserId(), register_ref);
  RequireAction(parent, actor, action);
}

// Draws an id, seals the payload and inserts the row (mailbox_row.cpp).
int64 Enqueue(const Catalog *cat, const Message *m) {
  if (ShardIsRemote(m->system, m->actor))
    return RelayToShard(m->system, m->actor, m->action, m->payload, m->metadata, m->register_ref,
                        m->deliver_at, m->reply_channel);
  RequireSchedulerDatabase(strcmp(m->source, "effect") == 0       ? "A side effect"
                           : strcmp(m->source, "async") == 0      ? "An asynchronous request"
                           : strcmp(m->source, "projection") == 0 ? "An async projection update"
                                                                  : "A cast");
  if (strcmp(m->source, "schedule") != 0) RequireMailboxWorkers();
  // No permission check on the sequence: spawn draws the id for the caller, as the owner
  // would (the caller never gets USAGE on it), without switching users for it.
  MailboxRow row{};
  row.id = nextval_internal(cat->mailbox_sequence, false);
  row.system = m->system;
  row.actor = m->actor;
  row.action = m->action;
  row.register_ref = m->register_ref;
  if (m->payload != nullptr) {
    SealedValue sealed = SealJsonb(MakeBinding("mailbox", m->system, m->actor, row.id), m->payload);
    row.has_payload = true;
    row.key_id = sealed.key_id;
    row.nonce = sealed.nonce;
    row.payload = sealed.ciphertext;
  }
  row.metadata = m->metadata;
  row.reply_channel = m->reply_channel;
  row.source = m->source;
  row.deliver_at = m->deliver_at;
  // A scheduler process has no caller of its own: outside a message (which runs restricted, as
  // its sender) what it enqueues names its sender explicitly.
  if (!OidIsValid(m->run_as) && IsBackgroundWorker && !InSecurityRestrictedOperation())
    elog(ERROR, "spawn: a message enqueued by a scheduler process names no sender");
  row.run_as = OidIsValid(m->run_as) ? m->run_as : GetUserId();
  MailboxInsertRow(cat, &row);
  WakeWorkersAtCommit(m->deliver_at);
  return row.id;
}

// Range-checks the delay before adding it, so nothing overflows into a wrong time.
TimestampTz DeliveryAfter(int64 delay_ms, const char *what) {
  if (delay_ms < 0 || delay_ms > kMaxDelayMs)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("%s must be between 0 and %lld milliseconds (10 years)", what,
                           static_cast<long long>(kMaxDelayMs)),
                    errdetail("%s was %lld.", what, static_cast<long long>(delay_ms))));
  return TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay_ms);
}

// Infinity and -infinity are valid timestamptz values, but no delivery time.
void RequireFiniteTime(TimestampTz at, const char *what) {
  if (TIMESTAMP_NOT_FINITE(at))
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must be a finite time", what),
             errhint("Pass a time such as now() + interval '1 hour', or use delay_ms.")));
}

}  // namespace spawn
