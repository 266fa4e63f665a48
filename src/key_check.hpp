// The keys of a database: the state store remembers (spawn._keys) which keys sealed its values,
// so a server started with a wrong key can read nothing and write nothing, and keys are
// rotated online: a new active key is configured first with the old ones after it, every value
// is re-sealed under it in small batches (spawn.rotate_key), and an old key is retired once no
// value needs it (spawn.retire_key).
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"

namespace spawn {

// Raises 55000 unless the configured keys include every key this database's values still use
// (so the active key is this database's, or a rotation to it is under way). Checked once per
// backend and database. SPI may be connected or not.
void RequireDatabaseKeys();

// Raises 55000 without a key or with a key that is not this database's: asynchronous messages
// are sealed, and a message accepted now must be deliverable later.
void RequireKeysForMessages();

// Records the active key in spawn._keys; run by the launcher in a transaction of its own
// (RunCatalogTransaction's body shape), so no writer ever waits on another's uncommitted
// insert.
void RecordActiveKey(Catalog *catalog, void *);

}  // namespace spawn
