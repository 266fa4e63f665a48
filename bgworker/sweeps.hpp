// The launcher's sweeps, each one transaction's work (run through RunCatalogTransaction): idle
// instances are deactivated, changed states snapshotted into history, expired replies, history
// and journal entries deleted. Each finds its rows through an index, so its cost follows the
// actors that were used and the rows that expired, never the number of actors or of snapshots.
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"

namespace spawn {

// Deactivates instances idle for longer than their deactivate_timeout (skipping busy ones); a
// state changed since its last snapshot is snapshotted first.
void DeactivateIdle(Catalog *catalog, void *deactivated /* int */);

// Copies changed states of active instances into history, at most once per snapshot_timeout
// per actor, and prunes that actor's history and journal past their retention.
void TakeSnapshots(Catalog *catalog, void *taken /* int */);

// Deletes replies past their retention, and the history and journal entries that passed their
// retention since the last sweep (the base a replay starts from stays).
void ApplyRetention(Catalog *catalog, void *unused);

// DeactivateIdle and TakeSnapshots take one batch of actors each per transaction; these run
// them batch after batch, each in its own transaction, while work is left and within a time
// budget. False when a transaction failed.
bool SweepDeactivations(int *deactivated);
bool SweepSnapshots(int *taken);

// Whether the last DeactivateIdle or TakeSnapshots stopped at its time budget with work left:
// the launcher then runs the sweeps again soon instead of after spawn.housekeeping_interval.
bool SweepsHaveBacklog();

// After ApplyRetention's transaction failed: its marks advanced in memory only, so they are
// read again from spawn._sweep_marks.
void RetentionForgetMarks();

}  // namespace spawn
