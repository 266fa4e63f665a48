// The state store's root key: loaded once in the postmaster, kept in sodium_malloc memory,
// inherited by every backend, never logged.
#pragma once

#include <cstdint>

namespace spawn {

// Reads SPAWN_STATESTORE_KEY or spawn.statestore_key; logs (without the key) if it is invalid.
void KeyringLoad();

// Returns the key and its id, or raises a clear error that says how to configure one.
const unsigned char *KeyringRequire(std::uint32_t *key_id);

// True when a state store key is configured (without raising).
bool KeyringConfigured();

// True when the key that sealed a value (its recorded key id) is configured, so the value can
// be opened; a worker pauses a message whose key is missing instead of counting an attempt.
bool KeyringHasKey(std::int64_t key_id);

}  // namespace spawn
