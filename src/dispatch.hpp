// Calling a registered SQL/PL handler function and reading what it returned.
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"

namespace spawn {

// Everything a handler sees: its arguments and the fields of spawn.context.
struct HandlerCall {
  const Definition *definition;
  const Handler *handler;
  const char *actor;  // the instance's name
  const char *action;
  int64 revision;
  const char *caller;  // the actor whose handler made this call, or NULL
  Jsonb *metadata;     // may be NULL
  Jsonb *state;
  Jsonb *payload;    // may be NULL
  bool state_unset;  // the instance never had a state: `state` is the empty object
};

// What a handler returned; each part may be NULL.
struct HandlerResult {
  Jsonb *state;     // NULL keeps the current state
  Jsonb *response;  // NULL means no reply
  Jsonb *workflow;
  bool checkpoint;  // take a snapshot of the new state now (external hosts ask for it)
};

// Raises 42883 when the handler's function was dropped, 42501 when the current user may not
// EXECUTE it. A host's handler needs nothing beyond the actor's invoke privilege.
void RequireHandlerCallable(const Definition *definition, const Handler *handler);

// Calls the handler as the current user (after an EXECUTE privilege check) and splits its
// spawn.value (or jsonb object) into a HandlerResult. Raises on NULL or a wrong shape.
void CallHandler(const Catalog *catalog, const HandlerCall *call, HandlerResult *result);

}  // namespace spawn
