// A missing or invalid key is not fatal at start-up: stateless actors still work, and stateful
// ones fail with an error that says how to set the key. What went wrong is logged once, as a
// WARNING, when the postmaster starts.
#include "src/keyring.hpp"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "src/core/envelope.hpp"
#include "src/core/errors.hpp"
#include "src/core/key_list.hpp"
#include "src/pg.hpp"
#include "src/settings.hpp"

namespace spawn {

namespace {

unsigned char *keys = nullptr;  // sodium_malloc'd, key_count * 32 bytes, read-only once loaded
std::uint32_t key_ids[kMaxKeys];
int key_count = 0;
const char *key_problem = "is not configured";

// Largest key file or command output read.
constexpr std::size_t kMaxKeyText = 4096;

// Reads the key file, refusing one that others could read; false (with key_problem) on failure.
bool ReadKeyFile(const char *path, std::string *text) {
  FILE *file = std::fopen(path, "r");
  if (file == nullptr) {
    key_problem = "file could not be opened";
    ereport(WARNING, (errmsg("spawn: could not open the state store key file \"%s\": %m", path)));
    return false;
  }
  struct stat st;
  if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    std::fclose(file);
    key_problem = "file is not private to the server's user";
    ereport(WARNING,
            (errmsg("spawn: the state store key file \"%s\" is not used: it must be a regular "
                    "file owned by the server's user with no group or world access",
                    path),
             errhint("chown postgres \"%s\"; chmod 600 \"%s\"", path, path)));
    return false;
  }
  char buffer[kMaxKeyText + 1];
  const std::size_t length = std::fread(buffer, 1, kMaxKeyText, file);
  std::fclose(file);
  text->assign(buffer, length);
  sodium_memzero(buffer, sizeof buffer);
  return true;
}

// Runs the key command and takes its standard output; false (with key_problem) on failure.
bool RunKeyCommand(const char *command, std::string *text) {
  FILE *pipe = popen(command, "r");
  if (pipe == nullptr) {
    key_problem = "command could not be started";
    ereport(WARNING, (errmsg("spawn: could not run spawn.statestore_key_command: %m")));
    return false;
  }
  char buffer[kMaxKeyText + 1];
  const std::size_t length = std::fread(buffer, 1, kMaxKeyText, pipe);
  const int status = pclose(pipe);
  text->assign(buffer, length);
  sodium_memzero(buffer, sizeof buffer);
  if (status != 0) {
    key_problem = "command failed";
    ereport(WARNING, (errmsg("spawn: spawn.statestore_key_command failed (status %d)", status)));
    return false;
  }
  return true;
}

// Zeroes `name=value` in the process's original environment block (what /proc/<pid>/environ
// shows), which PostgreSQL leaves behind when it copies the environment at start-up. Linux
// gives the block's bounds in /proc/self/stat (fields 50 and 51).
void WipeOriginalEnvironment(const char *name) {
  FILE *stat = std::fopen("/proc/self/stat", "r");
  if (stat == nullptr) return;
  char buffer[4096];
  const std::size_t length = std::fread(buffer, 1, sizeof buffer - 1, stat);
  std::fclose(stat);
  buffer[length] = '\0';
  char *fields = std::strrchr(buffer, ')');
  if (fields == nullptr) return;
  unsigned long long start = 0, end = 0;
  char *save = nullptr;
  int field = 2;  // the command, in parentheses, is field 2
  for (char *token = strtok_r(fields + 1, " ", &save); token != nullptr;
       token = strtok_r(nullptr, " ", &save)) {
    ++field;
    if (field == 50) start = std::strtoull(token, nullptr, 10);
    if (field == 51) end = std::strtoull(token, nullptr, 10);
  }
  if (start == 0 || end <= start) return;
  char *block = reinterpret_cast<char *>(start);
  const std::size_t name_length = std::strlen(name);
  for (char *entry = block; entry < reinterpret_cast<char *>(end);
       entry += std::strlen(entry) + 1) {
    if (std::strncmp(entry, name, name_length) == 0 && entry[name_length] == '=')
      sodium_memzero(entry + name_length + 1, std::strlen(entry + name_length + 1));
  }
}

// Finds the key text: environment, command, then file; also says where it came from.
bool ReadKeyText(std::string *text, const char **source) {
  const char *environment = std::getenv("SPAWN_STATESTORE_KEY");
  if (environment != nullptr && environment[0] != '\0') {
    text->assign(environment);
    sodium_memzero(const_cast<char *>(environment), std::strlen(environment));
    unsetenv("SPAWN_STATESTORE_KEY");  // never seen by backends, programs or archive commands
    WipeOriginalEnvironment("SPAWN_STATESTORE_KEY");
    *source = "SPAWN_STATESTORE_KEY";
    return true;
  }
  if (setting_statestore_key_command != nullptr && setting_statestore_key_command[0] != '\0') {
    *source = "spawn.statestore_key_command";
    return RunKeyCommand(setting_statestore_key_command, text);
  }
  if (setting_statestore_key_file != nullptr && setting_statestore_key_file[0] != '\0') {
    *source = "spawn.statestore_key_file";
    return ReadKeyFile(setting_statestore_key_file, text);
  }
  ereport(WARNING,
          (errmsg("spawn: no state store key is configured"),
           errdetail("Stateful actors and asynchronous messages are refused until one is."),
           errhint("Set spawn.statestore_key_file (or spawn.statestore_key_command) and restart; "
                   "see docs/getting-started.md.")));
  return false;
}

// Copies parsed keys into protected memory.
void KeepKeys(std::vector<Key> *parsed) {
  auto *memory = static_cast<unsigned char *>(sodium_malloc(parsed->size() * envelope::kKeyBytes));
  if (memory == nullptr) {
    key_problem = "could not be loaded into protected memory";
    return;
  }
  for (std::size_t i = 0; i < parsed->size(); ++i) {
    std::memcpy(memory + i * envelope::kKeyBytes, (*parsed)[i].data(), envelope::kKeyBytes);
    key_ids[i] = envelope::KeyId((*parsed)[i].data());
    sodium_memzero((*parsed)[i].data(), envelope::kKeyBytes);
  }
  sodium_mprotect_readonly(memory);
  keys = memory;
  key_count = static_cast<int>(parsed->size());
}

}  // namespace

// Reads, parses and keeps the keys.
void KeyringLoad() {
  std::string text;
  const char *source = nullptr;
  if (!ReadKeyText(&text, &source)) return;
  envelope::Initialise();
  try {
    std::vector<Key> parsed = ParseKeyList(text);
    KeepKeys(&parsed);
  } catch (const SpawnError &e) {
    key_problem = "is invalid";
    ereport(WARNING,
            (errmsg("spawn: the state store keys from %s are not used: %s", source, e.what()),
             errdetail("%s", e.detail().c_str()), errhint("%s", e.hint().c_str())));
  }
  sodium_memzero(text.data(), text.size());
}

// Returns the active key or raises.
const unsigned char *KeyringRequire(std::uint32_t *key_id) {
  if (keys == nullptr)
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("the spawn state store key %s", key_problem),
             errdetail("Stateful actors and asynchronous messages keep their data encrypted and "
                       "need a 32-byte key; the server's log says what is wrong at start-up."),
             errhint("Write the output of \"head -c 32 /dev/urandom | base64\" to a file that "
                     "only the server's user can read, set spawn.statestore_key_file to it in "
                     "postgresql.conf, then restart the server.")));
  *key_id = key_ids[0];
  return keys;
}

// Linear search: a handful of keys.
const unsigned char *KeyringFind(std::int64_t key_id) {
  for (int i = 0; i < key_count; ++i)
    if (static_cast<std::int64_t>(key_ids[i]) == key_id) return keys + i * envelope::kKeyBytes;
  return nullptr;
}

// A key is loaded.
bool KeyringConfigured() {
  return keys != nullptr;
}

// Any configured key has that id.
bool KeyringHasKey(std::int64_t key_id) {
  return KeyringFind(key_id) != nullptr;
}

// Copies the ids.
int KeyringIds(std::uint32_t *ids, int max) {
  const int count = key_count < max ? key_count : max;
  for (int i = 0; i < count; ++i) ids[i] = key_ids[i];
  return count;
}

}  // namespace spawn
