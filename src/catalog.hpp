// The per-backend cache of actor definitions and their handlers.
//
// Definitions are few; instances are many and never cached, so backend memory stays flat however
// many instances a session touches. The cache is marked stale by a relcache invalidation of
// spawn._definitions (sent by every registration) or by any change to pg_proc, and rebuilt on
// the next use that is not nested inside a running invocation.
#pragma once

#include <type_traits>

#include "src/host_config.hpp"
#include "src/identity.hpp"
#include "src/pg.hpp"
#include "src/sql_handler.hpp"

extern "C" {
#include "access/tupdesc.h"
#include "executor/spi.h"
}

namespace spawn {

enum class ActorKind : char { kNamed = 'n', kUnnamed = 'u', kPooled = 'p' };

// A user function the cache calls, looked up on its first call (never when the cache is
// built): a broken function then fails only the calls of its own actor or projection.
struct CachedFunction {
  Oid function;   // as registered; it may have been dropped since
  bool resolved;  // flinfo and sql are filled in
  FmgrInfo flinfo;
  SqlHandlerPlan sql;  // sql.plan is set for LANGUAGE sql functions on the fast path
};

// One action of a definition and the function that handles it.
struct Handler {
  char action[NAMEDATALEN];                 // empty for a definition's host_default
  char function_name[2 * NAMEDATALEN + 2];  // or "host:<name>"
  const HostConfig *host;                   // an external host serves the action; else a function
  bool takes_context;                       // (state, payload, ctx) instead of (state, payload)
  bool returns_jsonb;  // returns jsonb {"state", "response", "workflow"} instead of spawn.value
  CachedFunction call;
};

// A projection that follows a definition's state changes.
struct Projection {
  int32 id;
  char name[NAMEDATALEN];
  bool strict;  // runs in the invoking transaction; else through the mailbox
  char handler_name[2 * NAMEDATALEN + 2];
  Oid owner;            // the role that created it; the handler runs as this role
  CachedFunction call;  // single-statement LANGUAGE sql handlers take the fast path
};

// A privilege granted on a definition (or on its whole system) with spawn.grant.
struct ActorGrant {
  Oid grantee;     // InvalidOid for PUBLIC
  int privileges;  // Privilege bits (privilege.hpp)
};

// An actor definition as registered.
struct Definition {
  int32 id;
  char system[NAMEDATALEN];
  char name[NAMEDATALEN];
  ActorKind kind;
  bool stateful;
  bool has_timers;
  bool journal;      // every state change is appended to spawn._journal
  Oid owner;         // the role that registered it
  Oid system_owner;  // the owner of its system
  int grant_count;
  ActorGrant *grants;
  Jsonb *tags;
  int handler_count;
  Handler *handlers;
  Handler host_default;  // serves unlisted actions when host_default.host is set
  int projection_count;
  Projection *projections;
};

// Objects of the extension the invoke path needs.
struct Catalog {
  Oid owner;         // owner of the extension's tables; state is read and written as it
  Oid context_type;  // spawn.context
  TupleDesc context_desc;
  Oid instances_relid;       // spawn._instances
  Oid instances_name_index;  // its unique index on (system, name)
  Oid mailbox_sequence;      // spawn._mailbox_id_seq
  Oid mailbox_relid;         // spawn._mailbox
  Oid mailbox_requests;      // its unique index on the id of requests (with a reply channel)
  Oid replies_relid;         // spawn._replies and its primary key
  Oid replies_pkey;
  int host_count;  // external actor hosts (spawn._hosts)
  HostConfig *hosts;
};

// Runs fn(catalog, arg) with the current catalog (rebuilt first if stale) held, and releases it
// even on error. SPI must be connected. Use WithCatalog.
void CatalogHold(void (*fn)(Catalog *catalog, void *arg), void *arg);

// Calls a body of WithCatalog or RunInSpi passed through the plain-function shape of
// CatalogHold and SpiHold.
template <typename Body>
void CallCatalogBody(Catalog *catalog, void *body) {
  (*static_cast<std::remove_reference_t<Body> *>(body))(catalog);
}

// A body's address as CallCatalogBody takes it.
template <typename Body>
void *CatalogBodyArg(Body &body) {
  return const_cast<void *>(static_cast<const void *>(&body));
}

// The one way to reach the catalog: runs body(catalog) with the catalog held, so that a rebuild
// while it runs (a handler that registers an actor) retires the old catalog instead of freeing
// it under the body's feet. SPI must be connected; entry points use RunInSpi (spi_util.hpp).
template <typename Body>
void WithCatalog(Body &&body) {
  CatalogHold(CallCatalogBody<Body>, CatalogBodyArg(body));
}

// Finds a definition by id, reloading the catalog once when it is unknown; NULL if absent.
const Definition *CatalogFindById(int32 id);

// Finds a definition by system and name; NULL if absent.
const Definition *CatalogFindByName(const char *system, const char *name);

// Finds a projection of a definition by name; NULL if it has none of that name.
const Projection *DefinitionFindProjection(const Definition *definition, const char *name);

// Finds the handler of an action; NULL if the definition has none of that name.
const Handler *DefinitionFindHandler(const Definition *definition, const char *action);

// The handler that serves `action`: the listed one, else the actor's external host for any
// action but the built-in get and get_state; NULL when there is none.
const Handler *DefinitionActionHandler(const Definition *definition, const char *action);

// Looks up a cached function on its first call, as the current user, so that errors in its
// body (a dropped table, a schema the user may not use) belong to this call; the caller has
// checked that the function exists. With `result_ignored` (projections) a single INSERT,
// UPDATE or DELETE body takes the fast path too. SPI must be connected.
void CachedFunctionResolve(const CachedFunction *cached, bool result_ignored);

}  // namespace spawn
