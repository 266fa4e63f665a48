// The launcher's firing duties, each one transaction's work (run through RunTransaction):
// timers and cron schedules become mailbox messages (the sweeps are in sweeps.hpp).
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

}  // namespace spawn
