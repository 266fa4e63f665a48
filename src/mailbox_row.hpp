// One row of spawn._mailbox written without SPI or the executor: heap_insert plus the index
// access methods, as the state store writes state rows (state_store.hpp).
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"

extern "C" {
#include "utils/timestamp.h"
}

namespace spawn {

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

// Inserts the row into spawn._mailbox and its indexes, then makes it visible to the next
// command of the transaction (as an INSERT statement would).
void MailboxInsertRow(const Catalog *catalog, const MailboxRow *row);

}  // namespace spawn
