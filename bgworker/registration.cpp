// Static workers, so the postmaster itself restarts them after a crash.
#include "registration.hpp"

#include "pg.hpp"
#include "settings.hpp"
#include "shared.hpp"

extern "C" {
#include "postmaster/bgworker.h"
}

namespace spawn {

namespace {

// Registers one worker running `function` with argument `arg`.
void Register(const char *name, const char *type, const char *function, int arg) {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof worker);
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = 5;
  strlcpy(worker.bgw_library_name, "spawn", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
  strlcpy(worker.bgw_name, name, BGW_MAXLEN);
  strlcpy(worker.bgw_type, type, BGW_MAXLEN);
  worker.bgw_main_arg = Int32GetDatum(arg);
  RegisterBackgroundWorker(&worker);
}

}  // namespace

// Registers the launcher and the workers.
void RegisterSchedulerWorkers() {
  Register("spawn launcher", "spawn launcher", "spawn_launcher_main", kLauncherSlot);
  for (int i = 1; i <= setting_workers; ++i)
    Register(psprintf("spawn worker %d", i), "spawn worker", "spawn_worker_main", i);
}

}  // namespace spawn
