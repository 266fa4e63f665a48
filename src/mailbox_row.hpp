// One row of spawn._mailbox written without SPI or the executor: heap_insert plus the index
// access methods, as the state store writes state rows (state_store.hpp).
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"

extern "C" {
#include "storage/itemptr.h"
#include "utils/timestamp.h"
}

namespace spawn {

// Columns of spawn._mailbox (sql/spawn--1.0.sql), by attribute number.
namespace mailbox_column {
enum MailboxColumn {
  kId = 1,
  kSystem,
  kActor,
  kAction,
  kRegisterRef,
  kKeyId,
  kNonce,
  kPayload,
  kMetadata,
  kReplyChannel,
  kRunAs,
  kSource,
  kDeliverAt,
  kRetryAt,
  kAttempts,
  kLastError,
  kCreatedAt,
  kActorKey,
  kColumnCount = kActorKey
};
}  // namespace mailbox_column

// The columns of a new mailbox row; the others take their defaults (no retry time, no
// attempt, no error, created now). Pointers may be NULL where the column is nullable.
struct MailboxRow {
  int64 id;
  const char *system;
  const char *actor;
  const char *action;
  const char *register_ref;
  bool has_payload;
  int64 key_id;
  bytea *nonce;
  bytea *payload;
  Jsonb *metadata;
  const char *reply_channel;
  Oid run_as;
  const char *source;  // one of the values the table's CHECK constraint lists
  TimestampTz deliver_at;
};

// The mailbox's actor_key: the 64-bit hash of (system, actor) that keys _mailbox_actor_order,
// the value of the column's generation expression in sql/spawn--1.0.sql.
int64 MailboxActorKey(const char *system, const char *actor);

// Inserts the row into spawn._mailbox and its indexes, then makes it visible to the next
// command of the transaction (as an INSERT statement would).
void MailboxInsertRow(const Catalog *catalog, const MailboxRow *row);

// Deletes the mailbox rows at `tids` (row versions the current transaction read while its
// snapshot was pushed), then makes that visible to the next command. A row deleted meanwhile
// by another committed transaction is skipped, as a DELETE statement would skip it; a row
// updated meanwhile is a serialization failure (40001).
void MailboxDeleteRows(const Catalog *catalog, const ItemPointerData *tids, int count);

}  // namespace spawn
