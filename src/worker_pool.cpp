// Runs in any backend: counts the running mailbox workers and refuses a message nobody would
// ever run. A worker slot of shared memory is running while its pid is set.
#include "src/worker_pool.hpp"

#include "src/shared.hpp"

extern "C" {
#include "postmaster/bgworker.h"
}

namespace spawn {

// Counts the running workers.
int PoolRunning() {
  SharedState *shared = Shared();
  int running = 0;
  for (int i = 1; shared != nullptr && i <= kMaxWorkers; ++i)
    running += shared->processes[i].pid != 0 ? 1 : 0;
  return running;
}

// Refuses a message nobody would ever run.
void RequireMailboxWorkers() {
  SharedState *shared = Shared();
  if (shared == nullptr) return;
  const PoolState pool = shared->pool;
  if (pool.configured == 0)
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("no spawn worker runs messages: spawn.workers is 0"),
             errhint("Set spawn.workers to 1 or more and restart the server, or use spawn.invoke, "
                     "which runs in your transaction.")));
  const bool none = !pool.launcher || pool.registrable == 0 ||
                    (pool.refused >= pool.configured && PoolRunning() == 0);
  if (none)
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("no spawn worker can run: max_worker_processes = %d leaves no background "
                    "worker slot for %s",
                    max_worker_processes,
                    pool.launcher ? "spawn's mailbox workers" : "spawn's launcher"),
             errdetail("spawn.workers is %d; spawn.scheduler shows how many run.", pool.configured),
             errhint("Raise max_worker_processes to at least %d more than other background "
                     "workers use and restart the server.",
                     1 + pool.configured)));
}

}  // namespace spawn
