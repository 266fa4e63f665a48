// Actor instances and their encrypted state in spawn._instances, read through its
// (system, name) index and updated in place with heap_update: no executor or SQL on the hot path.
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"

extern "C" {
#include "storage/itemptr.h"
}

namespace spawn {

// One instance row as the invoke path sees it.
struct InstanceRow {
  const char *system;
  const char *name;
  bool exists;  // false when ActorTryClaim claimed a name without an instance
  int32 definition_id;
  bool active;
  int64 revision;
  bool has_state;  // false until the first state is written
  int64 key_id;
  bytea *nonce;
  bytea *ciphertext;
  TimestampTz last_activity;     // 0 when never active
  TimestampTz state_updated_at;  // 0 when no state was ever written
  int64 snapshot_revision;       // the newest snapshotted revision (0: none)
  TimestampTz snapshot_at;  // when `revision` was snapshotted, if snapshot_revision == revision
  HeapTuple tuple;          // the row as fetched, the base of the update
  ItemPointerData root;     // the index entry's heap pointer: the root of the row's HOT chain
};

// last_activity and state_updated_at lag the truth by less than this much: a write leaves them
// as they are while they are younger (StateWrite). The deactivation sweep waits this much longer
// than an actor's deactivate_timeout to make up for it (bgworker/sweeps.cpp).
constexpr int64 kActivityGranularityMs = 1000;

// Reads an instance with the latest snapshot (the caller holds the actor's lock, so this is the
// latest committed state whatever the isolation level); false when no instance has that name.
bool StateFetch(const Catalog *catalog, const char *system, const char *name, InstanceRow *row);

// What StateFetchForWrite found.
enum class FetchOutcome { kMissing, kFound, kBusy };

// Reads an instance for a writer that holds the actor's advisory lock: when the row's latest
// version was updated by another transaction still in progress (a writer that let the
// advisory lock go early, actor_lock.hpp), waits for it to end and reads again, or, without
// wait, answers kBusy at once. With `root_hint` (the `root` of a StateFetch made by this
// subtransaction before it waited for the lock) the first read follows that HOT chain instead of
// descending the index, and falls back to the index when the chain has no visible version of
// the instance (StateRefetchAtRoot).
FetchOutcome StateFetchForWrite(const Catalog *catalog, const char *system, const char *name,
                                bool wait, InstanceRow *row,
                                const ItemPointerData *root_hint = nullptr);

// Reads the instance from the HOT chain at `root` with the latest snapshot, without the index:
// true when the chain's visible version is the row of (system, name). False when it has none
// (a non-HOT update moved the row, the row was deleted, or VACUUM freed and reused the line
// pointer); the index then has the answer. `root` must come from a StateFetch of the current
// subtransaction (or of one that committed into it): its lock on spawn._instances, held since,
// keeps the table from being truncated or rewritten, and is the lock this read relies on.
bool StateRefetchAtRoot(const Catalog *catalog, const char *system, const char *name,
                        ItemPointerData root, InstanceRow *row);

// True when the fetched row version was written by this transaction: then no other writer can
// change the actor until this transaction ends, whoever holds its advisory lock.
bool StateRowIsOurs(const InstanceRow *row);

// Decrypts the instance's state; an instance without state yet has the empty object.
Jsonb *StateDecrypt(const InstanceRow *row);

// Writes the instance back: marks it active and touched; when `new_state` is not NULL it is
// encrypted as revision + `changes` (the number of state changes it sums up). Raises 40001 if the
// row was changed by a writer that did not take the actor's lock (an unregistration, a manual
// UPDATE). Makes the write visible to the next command of the transaction.
void StateWrite(const Catalog *catalog, const InstanceRow *row, Jsonb *new_state, int changes = 1);

// Marks an instance inactive (its next use runs init again), and its revision as snapshotted
// (the row itself is the snapshot) when `snapshotted`. The caller holds its lock.
void StateDeactivate(const Catalog *catalog, const InstanceRow *row, bool snapshotted);

// Records that the row's revision is snapshotted now: the row itself is the snapshot, until a
// write replaces it and copies it into spawn._history (StateWrite). The caller holds its lock.
void StateMarkSnapshotted(const Catalog *catalog, const InstanceRow *row);

// True when the row's current revision is its newest snapshot (kept in the row, not in history).
inline bool StateIsSnapshot(const InstanceRow *row) {
  return row->has_state && row->snapshot_revision == row->revision;
}

// Returns an empty JSON object, the state of an actor that has none yet.
Jsonb *EmptyState();

}  // namespace spawn
