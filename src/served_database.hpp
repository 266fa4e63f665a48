// The scheduler works in one database (spawn.database). Work queued anywhere else would wait
// forever, so everything that queues work for it checks first.
#pragma once

#include "src/pg.hpp"

namespace spawn {

// True when the current database is the one the scheduler serves (spawn.database).
bool SchedulerServesThisDatabase();

// Raises 55000 with a hint unless the scheduler serves the current database; `what` starts the
// detail with what would never run (e.g. "A cast").
void RequireSchedulerDatabase(const char *what);

}  // namespace spawn
