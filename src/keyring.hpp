// The state store's keys: loaded once in the postmaster from SPAWN_STATESTORE_KEY (then removed
// from the environment), the output of spawn.statestore_key_command, or the file named by
// spawn.statestore_key_file (readable by the server's user only); never from a setting. They
// are kept in sodium_malloc memory, inherited by every backend and never logged. The first key
// is active and seals new values; the others only open values sealed before a rotation.
#pragma once

#include <cstdint>

namespace spawn {

// Loads the keys; logs (without any key material) what is missing or wrong.
void KeyringLoad();

// Returns the active key and its id, or raises a clear error that says how to configure one.
const unsigned char *KeyringRequire(std::uint32_t *key_id);

// The configured key with this id, or nullptr.
const unsigned char *KeyringFind(std::int64_t key_id);

// True when a state store key is configured (without raising).
bool KeyringConfigured();

// True when the key that sealed a value (its recorded key id) is configured, so the value can
// be opened; a worker pauses a message whose key is missing instead of counting an attempt.
bool KeyringHasKey(std::int64_t key_id);

// The ids of the configured keys, the active one first; returns how many.
int KeyringIds(std::uint32_t *ids, int max);

}  // namespace spawn
