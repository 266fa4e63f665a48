// The workflow a handler returns in spawn.value.workflow: side effects (casts), a broadcast,
// and a pipe or a forward. Everything it sends is written in the invocation's transaction.
#pragma once

#include "src/catalog.hpp"
#include "src/invoke.hpp"
#include "src/pg.hpp"

namespace spawn {

// Validates and carries out a workflow for the action `request` ran on `actor`; returns the
// caller's reply: the handler's `response`, or the reply of the pipe or forward target.
// Raises 22023 for a malformed workflow and the invoke path's errors for unknown targets.
Jsonb *RunWorkflow(OpenActor *actor, const InvokeRequest *request, Jsonb *workflow,
                   Jsonb *response);

// Sends `payload` to every actor subscribed to `channel` in `system` (instances of subscribed
// unnamed actors included), as one message each, with one set-based insert. With an action,
// only subscriptions to that action get the message; without, each gets its subscription's
// action. Subscribers the current user may not invoke are skipped; each delivery runs as the
// subscriber's owner.
// Returns the number of messages. SPI must be connected.
int64 Broadcast(const Catalog *catalog, const char *system, const char *channel, const char *action,
                Jsonb *payload);

}  // namespace spawn
