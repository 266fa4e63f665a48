// State snapshots: the newest one of an actor's current revision is its instance row
// (snapshot_revision = revision); spawn._history holds those of revisions replaced since, sealed
// copies bound to their revision.
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"
#include "src/sealed.hpp"
#include "src/state_store.hpp"

namespace spawn {

// Opens the sealed state of a snapshot of `actor` at `revision`.
Jsonb *HistoryOpen(const char *system, const char *actor, int64 revision,
                   const SealedValue &sealed);

// Reads and opens the snapshot of `revision` of the fetched instance `row` into *state (from the
// row itself when it is that snapshot); false when there is none. SPI must be connected.
bool HistoryLoad(const Catalog *catalog, const InstanceRow *row, int64 revision, Jsonb **state);

// Copies the row's current revision, a snapshot kept only in the row, into spawn._history with
// its snapshot time: called by the write that replaces that revision, in its transaction. The
// caller holds the actor's lock and is about to update the row.
void HistoryKeepReplaced(const Catalog *catalog, const InstanceRow *row);

// Makes the instance's current state, as just written, a snapshot now (a handler's checkpoint).
// The caller holds the actor's lock.
void HistoryCheckpoint(const Catalog *catalog, const char *system, const char *actor);

}  // namespace spawn
