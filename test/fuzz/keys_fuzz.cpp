// libFuzzer target of the key list parser (a key file or a key command's output): any bytes
// either parse into 1 to kMaxKeys distinct keys or raise SpawnError with 22023; anything else
// (another exception, a crash, a sanitizer report) is a finding.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "src/core/errors.hpp"
#include "src/core/key_list.hpp"

// One input: the whole of it as the text of a key file.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  try {
    const std::vector<spawn::Key> keys = spawn::ParseKeyList(text);
    if (keys.empty() || keys.size() > spawn::kMaxKeys) std::abort();
  } catch (const spawn::SpawnError &e) {
    if (std::strcmp(e.sqlstate(), "22023") != 0) std::abort();
  }
  return 0;
}
