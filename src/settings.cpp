// Settings: sizes, worker counts and secrets are postmaster-level; tunables reload on SIGHUP.
#include "settings.hpp"

#include "pg.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace spawn {

char *setting_statestore_key = nullptr;

namespace {

// Shows the key setting without revealing it.
const char *ShowHiddenKey() {
  return (setting_statestore_key && setting_statestore_key[0]) ? "(hidden)" : "";
}

}  // namespace

// Defines the settings.
void DefineSettings() {
  DefineCustomStringVariable(
      "spawn.statestore_key", "Key that encrypts actor state (32 bytes, base64).",
      "SPAWN_STATESTORE_KEY in the server's environment takes precedence.",
      &setting_statestore_key, "", PGC_POSTMASTER,
      GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE, nullptr, nullptr,
      ShowHiddenKey);
  MarkGUCPrefixReserved("spawn");
}

}  // namespace spawn
