// The launcher's duties, each one transaction's work (run through RunCatalogTransaction):
// timers and cron schedules become mailbox messages; idle instances are deactivated; changed
// states are snapshotted into history; expired replies and history are deleted.
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"

namespace spawn {

// Output of a firing duty: how many messages it enqueued and when it is due next (-1: never).
struct FireResult {
  int fired;
  long next_ms;
};

// Turns every due timer tick into one message (a tick that fell behind fires once).
void FireTimers(Catalog *catalog, void *result /* FireResult */);

// Turns every due cron schedule into one message and computes its next time.
void FireSchedules(Catalog *catalog, void *result /* FireResult */);

// Deactivates instances idle for longer than their deactivate_timeout (skipping busy ones).
void DeactivateIdle(Catalog *catalog, void *deactivated /* int */);

// Copies changed states into history, at most once per snapshot_timeout per actor.
void TakeSnapshots(Catalog *catalog, void *taken /* int */);

// Deletes replies and history past their retention (the newest snapshot of an actor stays).
void ApplyRetention(Catalog *catalog, void *unused);

}  // namespace spawn
