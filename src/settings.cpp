// Settings: sizes, worker counts and secrets are postmaster-level; tunables reload on SIGHUP.
#include "src/settings.hpp"

#include <climits>

#include "src/pg.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace spawn {

char *setting_statestore_key_file = nullptr;
char *setting_statestore_key_command = nullptr;
char *refused_statestore_key = nullptr;
char *setting_database = nullptr;
int setting_workers = 2;
int setting_batch_size = 100;
int setting_max_attempts = 5;
int setting_host_connect_timeout_ms = 2000;
int setting_host_request_timeout_ms = 30000;
int setting_retry_base_ms = 1000;
int setting_reply_retention_s = 3600;
int setting_history_retention_s = 7 * 24 * 3600;
int setting_journal_retention_s = 0;
int setting_handler_timeout_ms = 60000;
int setting_max_workers_per_role = 0;
bool setting_run_as_owner = false;
int setting_housekeeping_ms = 1000;
int setting_http_port = 0;
int setting_http_workers = 2;
char *setting_http_listen_addresses = nullptr;
int setting_http_max_connections = 256;
int setting_http_connection_timeout_s = 30;
char *setting_http_role = nullptr;
int setting_http_callback_port = 8090;
char *setting_http_callback_ports = nullptr;
char *setting_http_allowed_hosts = nullptr;
int setting_http_max_body = 4 * 1024 * 1024;
int setting_http_batch_size = 32;
int setting_http_batch_time_ms = 2;
int setting_idempotency_retention_s = 24 * 3600;

namespace {

// Refuses a key given as a setting: without the library preloaded, any role could read it as
// a placeholder. The value is never shown or logged.
bool RefuseKeySetting(char **newval, void **, GucSource) {
  if (*newval == nullptr || (*newval)[0] == '\0') return true;
  GUC_check_errmsg("spawn.statestore_key is not supported; the key it holds is not used");
  GUC_check_errdetail("A key in a setting can be read by any role as a placeholder setting.");
  GUC_check_errhint(
      "Put the key in a file that only the server's user can read and set "
      "spawn.statestore_key_file to it.");
  return false;
}

// The HTTP gateway's settings (docs/gateway.md#settings).
void DefineHttpSettings() {
  DefineCustomIntVariable("spawn.http_port", "TCP port of the HTTP gateway (0: no gateway).",
                          "Spawn SDK hosts expect 9001.", &setting_http_port, 0, 0, 65535,
                          PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("spawn.http_workers", "Number of HTTP gateway processes.",
                          "They share the port (SO_REUSEPORT).", &setting_http_workers, 2, 1,
                          kMaxHttpWorkers, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("spawn.http_listen_addresses",
                             "Addresses the HTTP gateway listens on (comma-separated).",
                             "'*' listens on every address.", &setting_http_listen_addresses,
                             "localhost", PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "spawn.http_max_connections", "Most open connections of each HTTP gateway process.", nullptr,
      &setting_http_max_connections, 256, 1, 65535, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("spawn.http_connection_timeout",
                          "Idle time after which the HTTP gateway closes a connection.",
                          "Also bounds how slowly a client may send its headers and body.",
                          &setting_http_connection_timeout_s, 30, 1, 3600, PGC_POSTMASTER,
                          GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "spawn.http_role", "Role the HTTP gateway's requests run as.",
      "Must exist and must not be a superuser; the gateway serves nothing otherwise.",
      &setting_http_role, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("spawn.http_callback_port",
                          "Port of a registering host's action endpoint (USER_FUNCTION_PORT).",
                          "spawn.http_callback_ports overrides it per system.",
                          &setting_http_callback_port, 8090, 1, 65535, PGC_SIGHUP, 0, nullptr,
                          nullptr, nullptr);
  DefineCustomStringVariable(
      "spawn.http_callback_ports", "Per-system callback ports: 'system=port, ...'.", nullptr,
      &setting_http_callback_ports, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "spawn.http_allowed_hosts", "Addresses and CIDR ranges hosts may register from.",
      "The database server calls each registered host back at its peer address.",
      &setting_http_allowed_hosts, "127.0.0.1/32, ::1/128", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr,
      nullptr, nullptr);
  DefineCustomIntVariable("spawn.http_max_body", "Largest request body the HTTP gateway accepts.",
                          "Larger bodies are answered 413.", &setting_http_max_body,
                          4 * 1024 * 1024, 1024, 1024 * 1024 * 1024, PGC_SIGHUP, GUC_UNIT_BYTE,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "spawn.http_batch_size", "Most requests a gateway process runs in one transaction.",
      "Each request runs in its own subtransaction; 1 gives each request a "
      "transaction of its own.",
      &setting_http_batch_size, 32, 1, 1024, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("spawn.http_batch_time",
                          "How long a gateway batch runs before it stops taking more requests.",
                          "A request that started always ends; the batch then commits.",
                          &setting_http_batch_time_ms, 2, 0, 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
                          nullptr, nullptr);
  DefineCustomIntVariable("spawn.idempotency_retention",
                          "How long idempotency keys of casts are remembered.", nullptr,
                          &setting_idempotency_retention_s, 24 * 3600, 1, INT_MAX, PGC_SIGHUP,
                          GUC_UNIT_S, nullptr, nullptr, nullptr);
}

}  // namespace

// Defines the settings.
void DefineSettings() {
  DefineCustomStringVariable(
      "spawn.statestore_key", "Not supported: keys come from a file or a command.", nullptr,
      &refused_statestore_key, "", PGC_POSTMASTER,
      GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE, RefuseKeySetting, nullptr, nullptr);
  DefineCustomStringVariable(
      "spawn.statestore_key_file",
      "File holding the state store keys (base64, one per line, the active key first).",
      "Relative paths start at the data directory; the file must be readable by the server's "
      "user only. SPAWN_STATESTORE_KEY and spawn.statestore_key_command take precedence.",
      &setting_statestore_key_file, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY, nullptr, nullptr,
      nullptr);
  DefineCustomStringVariable(
      "spawn.statestore_key_command",
      "Command run once at start-up that prints the state store keys, like the key file.",
      "SPAWN_STATESTORE_KEY takes precedence.", &setting_statestore_key_command, "", PGC_POSTMASTER,
      GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("spawn.database", "Database in which the scheduler runs.", nullptr,
                             &setting_database, "postgres", PGC_POSTMASTER, 0, nullptr, nullptr,
                             nullptr);
  DefineCustomIntVariable("spawn.workers", "Number of mailbox worker processes.", nullptr,
                          &setting_workers, 2, 0, kMaxWorkers, PGC_POSTMASTER, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable(
      "spawn.batch_size", "Most messages of one actor a worker handles in one transaction.",
      nullptr, &setting_batch_size, 100, 1, 10000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "spawn.max_attempts", "Attempts before a failing message becomes a dead letter.", nullptr,
      &setting_max_attempts, 5, 1, 1000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("spawn.retry_base_ms",
                          "Delay before the first retry of a failed message; doubles each time.",
                          nullptr, &setting_retry_base_ms, 1000, 1, 3600 * 1000, PGC_SIGHUP,
                          GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("spawn.reply_retention", "How long replies of async requests are kept.",
                          nullptr, &setting_reply_retention_s, 3600, 1, INT_MAX, PGC_SIGHUP,
                          GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("spawn.history_retention", "How long state snapshots are kept.", nullptr,
                          &setting_history_retention_s, 7 * 24 * 3600, 1, INT_MAX, PGC_SIGHUP,
                          GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("spawn.journal_retention",
                          "How long journal entries are kept (0: forever).",
                          "Entries a replay of an actor's current revision needs are always kept.",
                          &setting_journal_retention_s, 0, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("spawn.housekeeping_interval",
                          "Interval of deactivation, snapshot and retention sweeps.", nullptr,
                          &setting_housekeeping_ms, 1000, 10, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "spawn.handler_timeout", "Longest a message's handler may run in a worker (0: no limit).",
      "A message cancelled by it counts as a failed attempt.", &setting_handler_timeout_ms, 60000,
      0, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("spawn.max_workers_per_role",
                          "Most workers one role's messages may occupy at once (0: all but one).",
                          "Keeps a worker free for other roles while one role's handlers are slow.",
                          &setting_max_workers_per_role, 0, 0, kMaxWorkers, PGC_SIGHUP, 0, nullptr,
                          nullptr, nullptr);
  DefineCustomIntVariable("spawn.host_connect_timeout",
                          "How long a call to an external actor host may take to connect.",
                          "A host's connect_timeout_ms option overrides it.",
                          &setting_host_connect_timeout_ms, 2000, 1, 600 * 1000, PGC_SIGHUP,
                          GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "spawn.host_request_timeout", "How long a call to an external actor host may take in all.",
      "A host's request_timeout_ms option overrides it.", &setting_host_request_timeout_ms, 30000,
      1, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable(
      "spawn.run_as_owner", "Marks spawn's catalog functions that run as the extension's owner.",
      "Set on spawn's own functions only (see identity.hpp); it does nothing "
      "in a session.",
      &setting_run_as_owner, false, PGC_USERSET,
      GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_NO_RESET_ALL, nullptr, nullptr, nullptr);
  DefineHttpSettings();
  MarkGUCPrefixReserved("spawn");
}

}  // namespace spawn
