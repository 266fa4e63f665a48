// Runs in the launcher (PoolMaintain) and in any backend (RequireMailboxWorkers, PoolRunning).
// A worker slot of shared memory is running while its pid is set; the launcher keeps the
// handles of the workers it registered and starts one again at most once a second per slot, so
// a worker that fails at start-up does not spin.
#include "pool.hpp"

#include "registration.hpp"
#include "settings.hpp"
#include "shared.hpp"

extern "C" {
#include "postmaster/bgworker.h"
#include "utils/timestamp.h"
}

namespace spawn {

namespace {

BackgroundWorkerHandle *handles[kMaxWorkers + 1];
TimestampTz last_start[kMaxWorkers + 1];
bool refused[kMaxWorkers + 1];
int logged_refused = 0;

// Says once that workers cannot start for want of slots, and once that they all run again.
void LogShortage(int refused_count, int configured) {
  if (refused_count == logged_refused) return;
  if (refused_count > 0)
    ereport(WARNING,
            (errmsg("spawn: %d of the %d mailbox workers (spawn.workers) cannot start: no "
                    "background worker slot is free (max_worker_processes = %d)",
                    refused_count, configured, max_worker_processes),
             errdetail("%d mailbox worker(s) run; the launcher tries again every second. "
                       "spawn.scheduler shows how many run.",
                       configured - refused_count),
             errhint("Raise max_worker_processes (spawn needs one slot for its launcher and one "
                     "per worker, besides parallel queries and other extensions) and restart "
                     "the server, or lower spawn.workers.")));
  else
    ereport(LOG, (errmsg("spawn: all %d mailbox workers can start now", configured)));
  logged_refused = refused_count;
}

}  // namespace

// Starts missing workers.
long PoolMaintain(bool extension_ready) {
  SharedState *shared = Shared();
  const int configured = Min(shared->pool.configured, kMaxWorkers);
  const bool may_start = extension_ready && !shared->pool.dropping;
  const TimestampTz now = GetCurrentTimestamp();
  long wait = -1;
  int refused_count = 0;
  for (int i = 1; i <= configured; ++i) {
    if (shared->processes[i].pid != 0) {
      refused[i] = false;
      continue;
    }
    if (handles[i] != nullptr) {
      pid_t pid;
      const BgwHandleStatus status = GetBackgroundWorkerPid(handles[i], &pid);
      if (status == BGWH_NOT_YET_STARTED || status == BGWH_STARTED) continue;
      pfree(handles[i]);
      handles[i] = nullptr;
    }
    if (!may_start) {
      refused[i] = false;
      continue;
    }
    if (!TimestampDifferenceExceeds(last_start[i], now, 1000)) {
      wait = 1000;
      refused_count += refused[i] ? 1 : 0;
      continue;
    }
    last_start[i] = now;
    refused[i] = !StartMailboxWorker(i, &handles[i]);
    if (refused[i]) {
      handles[i] = nullptr;
      ++refused_count;
      wait = 1000;
    }
  }
  shared->pool.refused = refused_count;
  if (may_start) LogShortage(refused_count, configured);
  return wait;
}

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
