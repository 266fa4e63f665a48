// Module load: spawn must be preloaded (shared_preload_libraries) because its key is loaded
// in the postmaster, and its shared memory and scheduler workers are set up there.
#include "bgworker/drop_guard.hpp"
#include "bgworker/gateway_stats.hpp"
#include "bgworker/registration.hpp"
#include "src/guard.hpp"
#include "src/host_stats.hpp"
#include "src/identity.hpp"
#include "src/keyring.hpp"
#include "src/pg.hpp"
#include "src/settings.hpp"
#include "src/shared.hpp"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
}

// Defines settings, loads the state store key, sets up shared memory and the scheduler.
void _PG_init(void) {
  if (IsBinaryUpgrade) return;
  if (!process_shared_preload_libraries_in_progress)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("spawn must be loaded via shared_preload_libraries"),
                    errhint("Add 'spawn' to shared_preload_libraries in postgresql.conf and "
                            "restart the server.")));
  spawn::DefineSettings();
  spawn::RunGuarded([](void *) { spawn::KeyringLoad(); }, nullptr);
  spawn::SharedInstallHooks();
  spawn::HostStatsInstallHooks();
  spawn::InstallOwnerCallHooks();
  spawn::RegisterSchedulerWorkers();
  if (spawn::setting_http_port > 0) {
    spawn::gateway::StatsInstallHooks();
    spawn::RegisterGatewayWorkers();
  }
  spawn::InstallDropGuard();
}
