// Replaying an actor's journal: rebuild a revision by re-running the recorded actions from the
// newest snapshot before it, and check each rebuilt state against the digest the journal kept.
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"

namespace spawn {

// What a replay found.
struct ReplayResult {
  int64 revision;        // the revision rebuilt
  Jsonb *state;          // its rebuilt state
  int64 first_mismatch;  // the first revision whose rebuilt state differs, or -1
  int64 from_snapshot;   // the snapshot it started from (0: the empty state)
  int replayed;          // entries re-run
};

// Replays `actor` up to `to_revision` (-1: its current revision). Handlers run in a
// subtransaction that is rolled back, so whatever they write besides their result is undone;
// their workflows are not run. Raises 42704 for a revision that does not exist and 55000 when
// the journal lacks entries the replay needs. SPI must be connected.
void Replay(const Catalog *catalog, const char *system, const char *actor, int64 to_revision,
            ReplayResult *out);

}  // namespace spawn
