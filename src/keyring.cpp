// A missing or invalid key is not fatal at start-up: stateless actors still work, and stateful
// ones fail with an error that says how to set the key.
#include "keyring.hpp"

#include <sodium.h>

#include <cstdlib>
#include <cstring>

#include "envelope.hpp"
#include "pg.hpp"
#include "settings.hpp"

namespace spawn {

namespace {

unsigned char *root_key = nullptr;  // sodium_malloc'd, read-only once loaded
std::uint32_t root_key_id = 0;
const char *key_problem = "is not set";

}  // namespace

// Loads the key from the environment or the setting.
void KeyringLoad() {
  const char *source = "SPAWN_STATESTORE_KEY";
  const char *text = std::getenv("SPAWN_STATESTORE_KEY");
  if (text == nullptr || text[0] == '\0') {
    source = "spawn.statestore_key";
    text = setting_statestore_key;
  }
  if (text == nullptr || text[0] == '\0') return;
  envelope::Initialise();
  auto *key = static_cast<unsigned char *>(sodium_malloc(envelope::kKeyBytes));
  if (key == nullptr) {
    key_problem = "could not be loaded into protected memory";
    return;
  }
  if (!envelope::DecodeKey(text, std::strlen(text), key)) {
    sodium_free(key);
    key_problem = "is not 32 bytes of base64";
    ereport(LOG, (errmsg("spawn: the state store key from %s is not 32 bytes of base64", source)));
    return;
  }
  root_key_id = envelope::KeyId(key);
  sodium_mprotect_readonly(key);
  root_key = key;
}

// Returns the loaded key or raises.
const unsigned char *KeyringRequire(std::uint32_t *key_id) {
  if (root_key == nullptr)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("the spawn state store key %s", key_problem),
                    errdetail("Stateful actors keep their state encrypted and need a 32-byte key."),
                    errhint("Set SPAWN_STATESTORE_KEY in the server's environment, or "
                            "spawn.statestore_key in postgresql.conf, to the output of "
                            "\"head -c 32 /dev/urandom | base64\", then restart the server.")));
  *key_id = root_key_id;
  return root_key;
}

// A key is loaded.
bool KeyringConfigured() {
  return root_key != nullptr;
}

// Compares with the loaded key's id.
bool KeyringHasKey(std::int64_t key_id) {
  return root_key != nullptr && key_id == static_cast<std::int64_t>(root_key_id);
}

}  // namespace spawn
