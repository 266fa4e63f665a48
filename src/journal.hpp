// The event journal of actors registered with journal => true: every state change appends an
// entry (revision, action, payload, response, metadata, caller, digest of the new state), sealed
// like state and bound to (system, actor, revision).
#pragma once

#include "src/catalog.hpp"
#include "src/invoke.hpp"
#include "src/pg.hpp"
#include "src/state_store.hpp"

extern "C" {
#include "utils/timestamp.h"
}

namespace spawn {

// Hex digest length of a state, with its terminating zero.
constexpr int kDigestHexBytes = 33;

// One decrypted journal entry.
struct JournalEntry {
  int64 revision;
  const char *action;   // NULL for a spawn.restore
  int64 restored_from;  // for a restore: the snapshot revision it brought back
  Jsonb *payload;       // each may be NULL
  Jsonb *response;
  Jsonb *metadata;
  const char *caller;  // the actor whose handler made the invocation, or NULL
  char digest[kDigestHexBytes];
  TimestampTz recorded_at;
};

// Writes the hex digest of a state, the value journal entries record and replays compare.
void StateDigestHex(const Jsonb *state, char out[kDigestHexBytes]);

// Records the state change an action just made on an open actor (its new revision is
// row.revision + changes). The entry is sealed now and inserted by JournalFlush.
void JournalRecord(OpenActor *actor, const char *action, const Jsonb *payload,
                   const Jsonb *response, const Jsonb *metadata, const char *caller);

// Inserts the entries recorded for an open actor; called once its state row is written.
void JournalFlush(OpenActor *actor);

// Appends the entry of a spawn.restore that made `state` (the snapshot of `restored_from`) the
// revision after row->revision. Called after the state row is written.
void JournalRestore(const Catalog *catalog, const InstanceRow *row, int64 restored_from,
                    const Jsonb *state);

// Reads and decrypts the entries of revisions from..to (inclusive) in order; returns how many.
int JournalRead(const Catalog *catalog, const char *system, const char *actor, int64 from, int64 to,
                JournalEntry **out);

// Raises 55000 for an actor registered without a journal that has no entries.
[[noreturn]] void RaiseNoJournal(const char *actor);

}  // namespace spawn
