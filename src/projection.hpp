// Projections (CQRS read models): after an actor's state changes, each projection that follows
// it runs its handler(actor text, state jsonb, revision bigint) as the role that created it,
// either in the same transaction (strict) or later through the actor's mailbox (async).
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"

namespace spawn {

// Runs the strict projections of a definition and enqueues its async ones, after the state row
// of `actor` was written as `revision`. SPI must be connected.
void ProjectStateChange(const Catalog *catalog, const Definition *definition, const char *system,
                        const char *actor, int64 revision, const Jsonb *state);

// Calls one projection's handler as the projection's owner.
void ProjectionCall(const Projection *projection, const char *actor, const Jsonb *state,
                    int64 revision);

// Runs a projection on the current state of every actor it follows (after emptying its read
// model when `clear`), holding a lock that keeps other writers of the read model out until
// commit. Returns how many actors were projected. SPI must be connected.
int64 ProjectAll(const Catalog *catalog, int32 projection_id, bool clear);

}  // namespace spawn
