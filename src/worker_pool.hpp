// What backends ask of the launcher's pool of mailbox workers, read from shared memory: how
// many run, and whether any can run at all. The launcher keeps the pool (bgworker/pool.hpp).
#pragma once

#include "src/pg.hpp"

namespace spawn {

// Raises 55000 when no mailbox worker can run at all (spawn.workers = 0, no background worker
// slot for the launcher or for any worker), so a message is never queued for nobody.
void RequireMailboxWorkers();

// How many mailbox workers run now.
int PoolRunning();

}  // namespace spawn
