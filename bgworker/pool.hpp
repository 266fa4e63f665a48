// The launcher's pool of mailbox workers: started while the extension exists, restarted when
// one ends, and a shortage of background worker slots said once in spawn's words.
#pragma once

#include "pg.hpp"

namespace spawn {

// Starts the mailbox workers that should run and do not (none when !extension_ready or while
// DROP EXTENSION runs). Returns how long the launcher may sleep before it should look again
// (-1: no need).
long PoolMaintain(bool extension_ready);

// Raises 55000 when no mailbox worker can run at all (spawn.workers = 0, no background worker
// slot for the launcher or for any worker), so a message is never queued for nobody.
void RequireMailboxWorkers();

// How many mailbox workers run now.
int PoolRunning();

}  // namespace spawn
