// Runs in the launcher (PoolMaintain); what backends ask of the pool is src/worker_pool.cpp.
// A worker slot of shared memory is running while its pid is set; the launcher keeps the
// handles of the workers it registered and starts one again at most once a second per slot, so
// a worker that fails at start-up does not spin.
#include "bgworker/pool.hpp"

#include "bgworker/registration.hpp"
#include "src/settings.hpp"
#include "src/shared.hpp"

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

}  // namespace spawn
