// The acting role is one backend-global value with save/restore around user code; GUC nesting
// levels put back search_path (a subtransaction abort unwinds them too).
#include "acting_role.hpp"

#include "catalog.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace spawn {

namespace {

Oid acting_role = InvalidOid;

}  // namespace

// The acting role, or the session's role when no user code of spawn's is running.
Oid CallerRole() {
  return OidIsValid(acting_role) ? acting_role : GetOuterUserId();
}

// Saves, sets, runs, restores (in PG_FINALLY, so an error restores it as well).
void WithActingRole(Oid role, void (*body)(void *), void *arg) {
  const Oid saved = acting_role;
  acting_role = role;
  PG_TRY();
  { body(arg); }
  PG_FINALLY();
  { acting_role = saved; }
  PG_END_TRY();
}

// Switches user and search_path at a new GUC nesting level, then runs body as the acting role.
void RunAsOwner(Oid role, void (*body)(void *), void *arg) {
  SavedUser saved;
  BecomeRole(role, &saved);
  const int guc_level = NewGUCNestLevel();
  set_config_option("search_path", kOwnerSearchPath, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                    true, 0, false);
  WithActingRole(role, body, arg);
  AtEOXact_GUC(true, guc_level);
  RestoreUser(&saved);
}

}  // namespace spawn
