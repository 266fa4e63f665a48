// The HTTP gateway process: libmicrohttpd without threads of its own, one daemon per listening
// socket in its epoll mode. The worker waits in a WaitEventSet on its latch, postmaster death
// and each daemon's epoll descriptor, with the timeout libmicrohttpd asks for, then lets
// MHD_run do the ready work (accept, read, call the access handler, write). The requests of
// the writing endpoints that MHD_run collected then run as one batch (gateway_batch.cpp), and
// the loop goes round again at once to send their answers and collect what arrived meanwhile:
// while one batch commits, the next one fills. SIGHUP reloads the settings (and resolves
// spawn.http_role again); SIGTERM ends the process between two batches or cancels the running
// request; the postmaster restarts it after a crash.
#include <microhttpd.h>

#include <cstdarg>
#include <cstdio>

#include "bgworker/gateway.hpp"
#include "bgworker/gateway_batch.hpp"
#include "bgworker/gateway_listen.hpp"
#include "bgworker/gateway_request.hpp"
#include "bgworker/gateway_stats.hpp"
#include "src/settings.hpp"

extern "C" {
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"

PGDLLEXPORT void spawn_gateway_main(Datum arg);
}

namespace spawn::gateway {

namespace {

int process_index = 0;
MHD_Daemon *daemons[kMaxListeners];
int daemon_count = 0;
bool in_run = false;

// libmicrohttpd's own messages go to the server log.
void Logger(void *, const char *format, va_list args) {
  char message[512];
  vsnprintf(message, sizeof message, format, args);
  ereport(LOG, (errmsg("spawn: gateway: %s", message)));
}

// Marks the process gone in the statistics and closes the daemons (unless exiting from within
// one, or with connections suspended for a batch, which libmicrohttpd cannot stop under: the
// kernel closes the sockets).
void AtExit(int, Datum) {
  StatsRecordProcess(process_index, 0);
  if (in_run || BatchHoldsConnections()) return;
  for (int i = 0; i < daemon_count; ++i) MHD_stop_daemon(daemons[i]);
  daemon_count = 0;
}

// Waits until spawn.http_role names a usable role: looked up again every 5 s (the role may be
// created later) and after SIGHUP; why it cannot be used is logged first and after each reload.
void WaitForRole() {
  bool log = true;
  while (!ResolveGatewayRole(log)) {
    log = false;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 5000,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
      log = true;
    }
  }
}

// Starts one daemon on each listening socket; exits (to be restarted) when none listens.
void StartDaemons() {
  int sockets[kMaxListeners];
  const int count = OpenListeners(sockets, kMaxListeners);
  for (int i = 0; i < count; ++i) {
    MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, nullptr, nullptr,
        AccessHandler, nullptr, MHD_OPTION_EXTERNAL_LOGGER, Logger, nullptr,
        MHD_OPTION_LISTEN_SOCKET, sockets[i], MHD_OPTION_NOTIFY_COMPLETED, RequestCompleted,
        nullptr, MHD_OPTION_CONNECTION_LIMIT,
        static_cast<unsigned int>(setting_http_max_connections), MHD_OPTION_CONNECTION_TIMEOUT,
        static_cast<unsigned int>(setting_http_connection_timeout_s), MHD_OPTION_END);
    if (daemon == nullptr) {
      ereport(LOG, (errmsg("spawn: gateway could not start its HTTP server on a socket")));
      close(sockets[i]);
      continue;
    }
    daemons[daemon_count++] = daemon;
  }
  if (daemon_count == 0)
    ereport(FATAL,
            (errmsg("spawn: the HTTP gateway could not listen on port %d", setting_http_port),
             errhint("Check spawn.http_listen_addresses and spawn.http_port.")));
}

// The wait set: latch, postmaster death, each daemon's epoll descriptor.
WaitEventSet *MakeWaitSet() {
  WaitEventSet *set = CreateWaitEventSet(TopMemoryContext, 2 + daemon_count);
  AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, nullptr);
  AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
  for (int i = 0; i < daemon_count; ++i) {
    const MHD_DaemonInfo *info = MHD_get_daemon_info(daemons[i], MHD_DAEMON_INFO_EPOLL_FD);
    if (info == nullptr) elog(FATAL, "spawn: libmicrohttpd has no epoll descriptor");
    AddWaitEventToSet(set, WL_SOCKET_READABLE, info->epoll_fd, nullptr, nullptr);
  }
  return set;
}

// The shortest timeout the daemons ask for, in ms (-1: none).
long NextTimeout() {
  long timeout = -1;
  for (int i = 0; i < daemon_count; ++i) {
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(daemons[i], &ms) == MHD_YES) {
      const long capped = ms > 60000 ? 60000 : static_cast<long>(ms);
      timeout = timeout < 0 ? capped : Min(timeout, capped);
    }
  }
  return timeout;
}

}  // namespace

}  // namespace spawn::gateway

// Entry point of "spawn gateway N".
void spawn_gateway_main(Datum arg) {
  using namespace spawn::gateway;
  process_index = DatumGetInt32(arg);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(spawn::setting_database, nullptr, 0);
  char name[64];
  snprintf(name, sizeof name, "spawn gateway %d", process_index);
  SetConfigOption("application_name", name, PGC_USERSET, PGC_S_SESSION);
  pgstat_report_appname(name);
  StatsRecordProcess(process_index, MyProcPid);
  before_shmem_exit(AtExit, 0);
  WaitForRole();
  StartDaemons();
  ereport(LOG, (errmsg("spawn: %s listening on port %d (%s), requests run as role \"%s\"", name,
                       spawn::setting_http_port, spawn::setting_http_listen_addresses,
                       spawn::setting_http_role)));
  WaitEventSet *set = MakeWaitSet();
  WaitEvent events[1 + kMaxListeners];
  bool batch_ran = false;  // its answers wait to be sent: look again without waiting
  for (;;) {
    const long timeout = batch_ran || BatchWaiting() ? 0 : NextTimeout();
    (void)WaitEventSetWait(set, timeout, events, 1 + kMaxListeners, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
      ResolveGatewayRole(true);  // an invalid role is logged; requests are refused until fixed
    }
    in_run = true;
    for (int i = 0; i < daemon_count; ++i) MHD_run(daemons[i]);
    in_run = false;
    batch_ran = BatchWaiting();
    if (batch_ran) BatchRunNext();
  }
}
