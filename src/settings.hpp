// Every spawn.* setting, defined in one place (settings.cpp).
#pragma once

namespace spawn {

// Raw value of spawn.statestore_key, read once by the keyring at start-up.
extern char *setting_statestore_key;

// Defines all settings and reserves the "spawn" prefix; called from _PG_init.
void DefineSettings();

}  // namespace spawn
