// Why a cached answer is as good as a fresh index scan: an instance row changes its definition
// or disappears only in spawn._register_actor and spawn.unregister_actor, and both invalidate
// spawn._definitions' relcache entry (spawn._catalog_changed). The cache is dropped on every
// relcache invalidation of spawn._definitions or spawn._instances and on a reset of all caches
// (also DROP EXTENSION, which invalidates both), and pending invalidations are read before each
// lookup, so a change another session committed is seen as
// soon as a scan with the latest snapshot would see it. Only rows committed by another
// transaction are cached: nothing of a transaction that may still roll back. Privileges are
// not cached here: the caller checks them on every message from the definition. The cache is
// bounded (emptied when full), so a backend's memory stays flat however many actors it casts to.
// Other relations' invalidations are ignored on purpose: autovacuum's ANALYZE of the busy
// mailbox sends one every few thousand casts, and emptying the cache then cost 6% of a cast.
#include "src/mailbox_targets.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "storage/sinval.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
}

namespace spawn {

namespace {

constexpr int kKeyBytes = 2 * NAMEDATALEN + 2;
constexpr long kMaxEntries = 4096;

// One cached instance.
struct TargetEntry {
  char key[kKeyBytes];  // "system\x1fname"
  int32 definition_id;
};

HTAB *targets = nullptr;
bool callback_registered = false;
Oid watched_definitions = InvalidOid;  // spawn._definitions and spawn._instances when the
Oid watched_instances = InvalidOid;    // entries were cached (looked up again after a drop)

// Drops every entry.
void DropTargets() {
  if (targets != nullptr) {
    hash_destroy(targets);
    targets = nullptr;
  }
  watched_definitions = watched_instances = InvalidOid;
}

// Drops every entry when the catalog tables (or all relations) are invalidated.
void OnRelcacheInvalidation(Datum, Oid relid) {
  if (relid == InvalidOid || relid == watched_definitions || relid == watched_instances)
    DropTargets();
}

// Builds the key; false when the names do not fit (then the instance is not cached).
bool TargetKey(const char *system, const char *name, char *key) {
  const int length = snprintf(key, kKeyBytes, "%s\x1f%s", system, name);
  return length > 0 && length < kKeyBytes;
}

// Creates the table (and registers the callback) on first use, watching the catalog's tables.
void EnsureTargets(const Catalog *catalog) {
  if (!callback_registered) {
    CacheRegisterRelcacheCallback(OnRelcacheInvalidation, 0);
    callback_registered = true;
  }
  if (targets != nullptr) return;
  watched_instances = catalog->instances_relid;
  watched_definitions =
      get_relname_relid("_definitions", get_rel_namespace(catalog->instances_relid));
  HASHCTL ctl;
  memset(&ctl, 0, sizeof ctl);
  ctl.keysize = kKeyBytes;
  ctl.entrysize = sizeof(TargetEntry);
  ctl.hcxt = TopMemoryContext;
  targets = hash_create("spawn cast targets", 256, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

}  // namespace

// Reads pending invalidations first, so the answer is as fresh as the latest snapshot's.
bool TargetCacheFind(const char *system, const char *name, int32 *definition_id) {
  AcceptInvalidationMessages();
  if (targets == nullptr) return false;
  char key[kKeyBytes];
  if (!TargetKey(system, name, key)) return false;
  auto *entry = static_cast<TargetEntry *>(hash_search(targets, key, HASH_FIND, nullptr));
  if (entry == nullptr) return false;
  *definition_id = entry->definition_id;
  return true;
}

// Caches rows whose inserting transaction is another one that committed.
void TargetCacheRemember(const Catalog *catalog, const InstanceRow *row) {
  const TransactionId xmin = HeapTupleHeaderGetXmin(row->tuple->t_data);
  if (TransactionIdIsCurrentTransactionId(xmin) || !TransactionIdDidCommit(xmin)) return;
  char key[kKeyBytes];
  if (!TargetKey(row->system, row->name, key)) return;
  EnsureTargets(catalog);
  if (hash_get_num_entries(targets) >= kMaxEntries) {
    DropTargets();
    EnsureTargets(catalog);
  }
  auto *entry = static_cast<TargetEntry *>(hash_search(targets, key, HASH_ENTER, nullptr));
  entry->definition_id = row->definition_id;
}

}  // namespace spawn
