// The launcher's pool of mailbox workers: started while the extension exists, restarted when
// one ends, and a shortage of background worker slots said once in spawn's words. What
// backends ask of the pool is src/worker_pool.hpp.
#pragma once

#include "src/pg.hpp"

namespace spawn {

// Starts the mailbox workers that should run and do not (none when !extension_ready or while
// DROP EXTENSION runs). Returns how long the launcher may sleep before it should look again
// (-1: no need).
long PoolMaintain(bool extension_ready);

}  // namespace spawn
