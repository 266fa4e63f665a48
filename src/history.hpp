// State snapshots in spawn._history: sealed copies of state rows, bound to their revision.
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"
#include "src/sealed.hpp"
#include "src/state_store.hpp"

namespace spawn {

// Opens the sealed state of a snapshot of `actor` at `revision`.
Jsonb *HistoryOpen(const char *system, const char *actor, int64 revision,
                   const SealedValue &sealed);

// Reads and opens the snapshot of `revision` into *state; false when the history lacks it.
// SPI must be connected.
bool HistoryLoad(const Catalog *catalog, const char *system, const char *actor, int64 revision,
                 Jsonb **state);

// Copies a fetched instance row's sealed state into the history as its revision's snapshot (a
// snapshot already there is kept). SPI must be connected.
void HistoryRecord(const Catalog *catalog, const InstanceRow *row);

// Copies the instance's current sealed state into the history now (a handler's checkpoint) and
// marks it snapshotted. The caller holds the actor's lock. SPI must be connected.
void HistoryCheckpoint(const Catalog *catalog, const char *system, const char *actor);

}  // namespace spawn
