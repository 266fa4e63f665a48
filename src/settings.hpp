// Every spawn.* setting, defined in one place (settings.cpp).
#pragma once

namespace spawn {

// Where the keyring reads the state store keys at start-up (keyring.hpp).
extern char *setting_statestore_key_file;
extern char *setting_statestore_key_command;
// Database the scheduler works in (postmaster).
extern char *setting_database;
// Number of mailbox workers (postmaster).
extern int setting_workers;
// Most messages of one actor a worker handles in one transaction (reload).
extern int setting_batch_size;
// Attempts before a message becomes a dead letter (reload).
extern int setting_max_attempts;
// Delay before the first retry; doubles with each attempt (reload).
extern int setting_retry_base_ms;
// How long async replies are kept (reload).
extern int setting_reply_retention_s;
// How long state history is kept (reload).
extern int setting_history_retention_s;
extern int setting_journal_retention_s;  // 0: journal entries are kept forever

// Longest a message's handler may run in a worker before it is cancelled; 0: no limit (reload).
extern int setting_handler_timeout_ms;
// Most workers one role's messages may occupy at once; 0: all but one (reload).
extern int setting_max_workers_per_role;

// Default connect and request timeouts of calls to external actor hosts (reload).
extern int setting_host_connect_timeout_ms;
extern int setting_host_request_timeout_ms;

// The marker of spawn's owner-run catalog functions (identity.hpp); no meaning elsewhere.
extern bool setting_run_as_owner;

// Interval of the launcher's sweeps: deactivation, snapshots, retention (reload).
extern int setting_housekeeping_ms;

// The HTTP gateway (docs/gateway.md): port (0: off), processes, addresses and connection limits
// are postmaster-level; the role, callback port(s), allowed hosts and body limit reload.
extern int setting_http_port;
extern int setting_http_workers;
extern char *setting_http_listen_addresses;
extern int setting_http_max_connections;
extern int setting_http_connection_timeout_s;
extern char *setting_http_role;
extern int setting_http_callback_port;
extern char *setting_http_callback_ports;  // per-system overrides: "system=port, ..."
extern char *setting_http_allowed_hosts;
extern int setting_http_max_body;
// Most requests a gateway process runs in one transaction (1: one transaction each), and how
// long a batch may run before it stops taking more requests (reload).
extern int setting_http_batch_size;
extern int setting_http_batch_time_ms;
// How long idempotency keys of casts are remembered (reload).
extern int setting_idempotency_retention_s;

// Most workers spawn.workers accepts.
inline constexpr int kMaxWorkers = 32;
// Most gateway processes spawn.http_workers accepts.
inline constexpr int kMaxHttpWorkers = 16;

// Defines all settings and reserves the "spawn" prefix; called from _PG_init.
void DefineSettings();

}  // namespace spawn
