// Idempotency keys of casts and async invocations (docs/gateway.md#idempotency-keys): a key a
// role already used within spawn.idempotency_retention names the request it first sent.
#pragma once

#include "src/catalog.hpp"

namespace spawn {

// Checks the key (1 to 255 bytes, 22023 otherwise) and claims it for `requester`. Returns true
// when the key is new (the caller enqueues, then calls IdempotencyRecord); false with the first
// request's id in *first_id when the role used it before. A concurrent claim of the same key
// waits for the other transaction and then sees its id (or claims the key if it rolled back).
bool IdempotencyClaim(const Catalog *catalog, const char *key, Oid requester, int64 *first_id);

// Records the id of the request a new key was claimed for.
void IdempotencyRecord(const Catalog *catalog, const char *key, Oid requester, int64 id);

}  // namespace spawn
