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
  MarkGUCPrefixReserved("spawn");
}

}  // namespace spawn
