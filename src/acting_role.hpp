// Who is asking, while spawn runs user code.
//
// spawn's catalog functions are SECURITY DEFINER, so inside them GetUserId() is the extension's
// owner. The role they attribute a request to is the acting role: the role spawn runs user code
// as (a handler's role, a projection's owner, a message's sender in a worker) while that code
// runs, and otherwise the session's role (SET ROLE included).
#pragma once

#include "pg.hpp"

namespace spawn {

// The role requests are attributed to right now.
Oid CallerRole();

// Runs body() with `role` as the acting role; the previous one comes back even on error.
void WithActingRole(Oid role, void (*body)(void *), void *arg);

// Runs body() as `role` (like a SECURITY DEFINER function of that role) with the acting role
// set to it and search_path fixed to kOwnerSearchPath, so the session that caused the call
// cannot change how names inside it resolve. Everything is restored on return and on error.
void RunAsOwner(Oid role, void (*body)(void *), void *arg);

// The search_path of code run on an owner's behalf: pg_catalog first, the owner's own schema,
// public, and the session's temporary schema last (never first).
inline constexpr const char *kOwnerSearchPath = "pg_catalog, \"$user\", public, pg_temp";

}  // namespace spawn
