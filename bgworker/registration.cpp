// The launcher is static, so the postmaster itself restarts it after a crash. The mailbox
// workers are dynamic: the launcher starts them when the extension exists and restarts one that
// ended; they exit when the extension is dropped, so none stays behind in the database.
//
// Slots: every background worker takes one of max_worker_processes, shared with parallel
// queries, logical replication and other extensions. At start-up the registration counts what
// is already taken and says, once, how many of spawn's processes fit.
#include "bgworker/registration.hpp"

#include "src/pg.hpp"
#include "src/settings.hpp"
#include "src/shared.hpp"

extern "C" {
#include "lib/ilist.h"
#include "postmaster/bgworker_internals.h"
}

namespace spawn {

namespace {

// Fills in a worker running `function` with argument `arg`.
void Describe(BackgroundWorker *worker, const char *name, const char *type, const char *function,
              int arg, int restart) {
  memset(worker, 0, sizeof *worker);
  worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker->bgw_restart_time = restart;
  strlcpy(worker->bgw_library_name, "spawn", BGW_MAXLEN);
  strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
  strlcpy(worker->bgw_name, name, BGW_MAXLEN);
  strlcpy(worker->bgw_type, type, BGW_MAXLEN);
  worker->bgw_main_arg = Int32GetDatum(arg);
}

// Background worker slots already promised to others when spawn registers: the static workers
// registered before it (the logical replication launcher registers before any library).
int SlotsTaken() {
  int taken = 0;
  for (slist_node *node = BackgroundWorkerList.head.next; node != nullptr; node = node->next)
    ++taken;
  return taken;
}

}  // namespace

// Registers the launcher and records what room is left for the workers.
void RegisterSchedulerWorkers() {
  const int taken = SlotsTaken();
  const int room = max_worker_processes - taken;  // for the launcher and the workers
  PoolState pool{};
  pool.configured = setting_workers;
  pool.launcher = room >= 1;
  pool.registrable = Max(Min(room - 1, setting_workers), 0);
  if (room < 1 + setting_workers)
    ereport(WARNING,
            (errmsg("spawn: max_worker_processes = %d leaves room for %d of spawn's %d "
                    "background processes (its launcher and spawn.workers = %d mailbox workers)",
                    max_worker_processes, Max(room, 0), 1 + setting_workers, setting_workers),
             errdetail("%d slot(s) are taken by other background workers.%s", taken,
                       !pool.launcher          ? " Without the launcher, no message, timer or "
                                                 "schedule runs, and casts are refused."
                       : pool.registrable == 0 ? " No mailbox worker can run: casts are refused."
                                               : ""),
             errhint("Set max_worker_processes to at least %d (parallel queries use the same "
                     "slots, so leave some more) and restart the server, or lower "
                     "spawn.workers.",
                     taken + 1 + setting_workers)));
  SetInitialPool(pool);
  if (!pool.launcher) return;
  BackgroundWorker worker;
  Describe(&worker, "spawn launcher", "spawn launcher", "spawn_launcher_main", kLauncherSlot, 5);
  RegisterBackgroundWorker(&worker);
}

// Registers spawn.http_workers gateway processes when spawn.http_port is set (docs/gateway.md):
// static workers, restarted by the postmaster 2 s after a crash, started on a primary only.
void RegisterGatewayWorkers() {
  if (setting_http_port == 0) return;
  for (int i = 0; i < setting_http_workers; ++i) {
    BackgroundWorker worker;
    Describe(&worker, psprintf("spawn gateway %d", i), "spawn gateway", "spawn_gateway_main", i, 2);
    RegisterBackgroundWorker(&worker);
  }
}

// Starts one mailbox worker.
bool StartMailboxWorker(int index, BackgroundWorkerHandle **handle) {
  BackgroundWorker worker;
  Describe(&worker, psprintf("spawn worker %d", index), "spawn worker", "spawn_worker_main", index,
           BGW_NEVER_RESTART);
  worker.bgw_notify_pid = MyProcPid;
  MemoryContext previous = MemoryContextSwitchTo(TopMemoryContext);
  const bool started = RegisterDynamicBackgroundWorker(&worker, handle);
  MemoryContextSwitchTo(previous);
  return started;
}

}  // namespace spawn
