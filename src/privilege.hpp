// Who may do what with an actor: the trust model's privilege checks (docs/security.md).
//
// An actor definition (and every instance of a template) is owned by the role that registered
// it; a system by the role that created it. Owners, members of the owner role, the system's
// owner and superusers hold every privilege; others hold what spawn.grant gave them or PUBLIC.
#pragma once

#include "src/catalog.hpp"
#include "src/state_store.hpp"

namespace spawn {

// The privileges of spawn.grant; admin includes the other three.
enum Privilege : int {
  kPrivilegeInvoke = 1,  // invoke, cast, invoke_async, schedule, broadcast delivery
  kPrivilegeRead = 2,    // get, spawn.state, journal, state_history, replay
  kPrivilegeSpawn = 4,   // spawn_actor and register_ref on a template
  kPrivilegeAdmin = 8,   // re-register, unregister, restore, projections, grants
  kPrivilegeAny = 15,
};

// True when `role` holds `privilege` (any of the bits) on the definition.
bool HasPrivilege(const Definition *definition, int privilege, Oid role);

// Raises 42501 naming the actor unless `role` holds `privilege` on the definition.
void RequirePrivilege(const Definition *definition, int privilege, Oid role, const char *actor);

// Finds the definition of an instance and requires `privilege` on it for the current user.
const Definition *RequireInstancePrivilege(const InstanceRow *row, int privilege);

// Parses a privilege name (invoke, read, spawn, admin, any); raises 22023 for another.
int PrivilegeFromName(const char *name);

}  // namespace spawn
