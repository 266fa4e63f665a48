// A per-backend cache of the instances a backend has sent messages to: which definition each
// belongs to, so that validating a cast's target needs no index scan of spawn._instances.
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"
#include "src/state_store.hpp"

namespace spawn {

// Finds the definition id of instance (system, name) as last seen committed; false when the
// backend has not cached it (or an invalidation of the catalog's tables dropped the cache).
bool TargetCacheFind(const char *system, const char *name, int32 *definition_id);

// Remembers the definition of a fetched instance row, unless the row is not yet committed by
// another transaction (a row of this transaction may still be rolled back).
void TargetCacheRemember(const Catalog *catalog, const InstanceRow *row);

}  // namespace spawn
