// Who is asking, and as whom spawn runs code (docs/security.md).
//
// spawn's catalog functions written in PL/pgSQL run as the extension's owner, like SECURITY
// DEFINER functions, but through a function-manager hook instead of SECURITY DEFINER, so that
// the hook can remember the role that called them: CallerRole(). A function is one of them when
// it lives in schema spawn, belongs to the schema's owner and carries
// `SET spawn.run_as_owner = on`.
#pragma once

#include "src/pg.hpp"

namespace spawn {

// Saved user identity while code runs as another role.
struct SavedUser {
  Oid user;
  int security_context;
  int guc_level;  // GUC nesting level to undo (a pinned search_path), or 0
};

// The search_path of spawn's own statements and of code run on an owner's behalf: no role can
// put a function, operator or table before pg_catalog's, or in a schema of its choosing.
inline constexpr const char *kInternalSearchPath = "pg_catalog, pg_temp";

// Pins search_path to kInternalSearchPath at a new GUC nesting level and returns the level,
// which AtEOXact_GUC(true, level) undoes (an abort undoes it too).
int PinInternalSearchPath();

// Switches to `role` for the next statements (like SECURITY DEFINER), saving the current user.
void BecomeRole(Oid role, SavedUser *saved);

// Switches to `owner`, the owner of spawn's tables (Catalog::owner), for spawn's own statements,
// with search_path pinned to kInternalSearchPath; RestoreUser undoes both.
void BecomeOwner(Oid owner, SavedUser *saved);

// Like BecomeRole, inside a security-restricted operation: the code cannot change its role or
// create temporary objects (used for messages in workers, which run one role after another).
void BecomeRestricted(Oid role, SavedUser *saved);

// Switches back to the saved user (and search_path).
void RestoreUser(const SavedUser *saved);

// The role a request is attributed to: inside one of spawn's owner-run catalog functions, the
// role that called it; elsewhere the current user (a handler's, a projection owner's, a
// message's sender in a worker).
Oid CallerRole();

// Installs the function-manager hooks that run spawn's catalog functions as the owner; called
// from _PG_init.
void InstallOwnerCallHooks();

// Runs body(arg) as `role` inside a security-restricted operation (nothing it leaves can run
// later as another role) with search_path pinned, so the session that caused the call cannot
// change how names inside it resolve; refused in a session whose temporary objects could
// capture names. Everything is restored on return and on error.
void RunAsOwner(Oid role, void (*body)(void *), void *arg);

}  // namespace spawn
