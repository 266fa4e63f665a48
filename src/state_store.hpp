// Actor instances and their encrypted state in spawn._instances, read and written through
// prepared statements as the extension's owner (the table is not readable by PUBLIC).
#pragma once

#include "catalog.hpp"
#include "pg.hpp"

extern "C" {
#include "storage/itemptr.h"

}

namespace spawn {

// One instance row as the invoke path sees it.
struct InstanceRow {
  const char *system;
  const char *name;
  int64 id;
  int32 definition_id;
  bool active;
  int64 revision;
  bool has_state;  // false until the first state is written
  int64 key_id;
  bytea *nonce;
  bytea *ciphertext;
  ItemPointerData ctid;
};

// Reads an instance; returns false when no instance of that name exists. SPI connected.
bool StateFetch(const Catalog *catalog, const char *system, const char *name, InstanceRow *row);

// Decrypts the instance's state; an instance without state yet has the empty object.
Jsonb *StateDecrypt(const InstanceRow *row);

// Writes the instance back: marks it active and touched; when `new_state` is not NULL it is
// encrypted as the next revision. Raises if the row changed under the single-writer lock.
void StateWrite(const Catalog *catalog, const InstanceRow *row, Jsonb *new_state);

// Returns an empty JSON object, the state of an actor that has none yet.
Jsonb *EmptyState();

}  // namespace spawn
