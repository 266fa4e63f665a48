// Checks run on every invocation, so they read only the cached definition: owner and system
// owner first (a pointer compare and, when different, PostgreSQL's cached role membership),
// then the handful of grants of the definition and its system.
#include "src/privilege.hpp"

#include "src/not_found.hpp"

extern "C" {
#include "utils/acl.h"
}

namespace spawn {

namespace {

// Names of the privileges, in bit order.
const char *const kPrivilegeNames[] = {"invoke", "read", "spawn", "admin"};

// The name of the lowest privilege bit set.
const char *PrivilegeName(int privilege) {
  for (int i = 0; i < 4; ++i)
    if (privilege & (1 << i)) return kPrivilegeNames[i];
  return "any";
}

// True when `role` is `owner`, inherits its privileges, or is a superuser.
bool ActsAs(Oid role, Oid owner) {
  return role == owner || has_privs_of_role(role, owner);
}

}  // namespace

// Owner, system owner, then grants (admin counts for every privilege).
bool HasPrivilege(const Definition *def, int privilege, Oid role) {
  if (ActsAs(role, def->owner) || ActsAs(role, def->system_owner)) return true;
  for (int i = 0; i < def->grant_count; ++i) {
    const ActorGrant *g = &def->grants[i];
    const int held = (g->privileges & kPrivilegeAdmin) ? kPrivilegeAny : g->privileges;
    if ((held & privilege) && (g->grantee == InvalidOid || ActsAs(role, g->grantee))) return true;
  }
  return false;
}

// Raises with a hint naming the owner, who can grant the privilege.
void RequirePrivilege(const Definition *def, int privilege, Oid role, const char *actor) {
  if (HasPrivilege(def, privilege, role)) return;
  const char *owner = GetUserNameFromId(def->owner, true);
  const char *asking = GetUserNameFromId(role, true);
  ereport(
      ERROR,
      (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("permission denied for actor \"%s\"", actor),
       errdetail("Role %s does not hold the %s privilege on actor \"%s\" of system \"%s\".",
                 asking ? asking : "(dropped)", PrivilegeName(privilege), def->name, def->system),
       errhint("Its owner%s%s%s can grant it with spawn.grant('%s', '%s', '<role>').",
               owner ? ", role " : "", owner ? owner : "", owner ? "," : "",
               PrivilegeName(privilege), def->name)));
}

// Looks the instance's definition up by id and checks the current user.
const Definition *RequireInstancePrivilege(const InstanceRow *row, int privilege) {
  const Definition *def = CatalogFindById(row->definition_id);
  if (def == nullptr) RaiseActorNotFound(row->system, row->name);
  RequirePrivilege(def, privilege, GetUserId(), row->name);
  return def;
}

// Maps a name to its bit.
int PrivilegeFromName(const char *name) {
  for (int i = 0; i < 4; ++i)
    if (strcmp(name, kPrivilegeNames[i]) == 0) return 1 << i;
  if (strcmp(name, "any") == 0) return kPrivilegeAny;
  ereport(ERROR,
          (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unknown actor privilege \"%s\"", name),
           errhint("The privileges are invoke, read, spawn and admin.")));
  return 0;
}

}  // namespace spawn
