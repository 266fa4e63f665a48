// The synchronous invoke path, shared by spawn.invoke and the scheduler's workers.
#pragma once

#include "pg.hpp"

namespace spawn {

// One invocation as requested by a caller.
struct InvokeRequest {
  const char *system;
  const char *actor;
  const char *action;
  Jsonb *payload;            // may be NULL
  Jsonb *metadata;           // may be NULL
  const char *register_ref;  // template to spawn the instance from if missing, or NULL
};

// Runs one invocation in the current transaction: takes the actor's single-writer lock,
// decrypts its state, activates it (init) if needed, calls the handler and writes the new state.
// Returns the reply (NULL for no reply) allocated in the caller's memory context.
Jsonb *Invoke(const InvokeRequest *request);

}  // namespace spawn
