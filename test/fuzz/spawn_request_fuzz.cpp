// libFuzzer target of DecodeSpawnRequest, the decoder of spawn requests posted to the gateway.
#include <cstdint>

#include "src/core/codec.hpp"
#include "src/core/json_text.hpp"

// One input: one request body; every decoded name must be UTF-8.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  spawn::wire::SpawnRequest request;
  std::string error;
  if (!spawn::wire::DecodeSpawnRequest(data, size, nullptr, &request, &error)) return 0;
  for (const auto &actor : request.actors)
    if (!spawn::wire::IsUtf8(actor.name) || !spawn::wire::IsUtf8(actor.parent)) std::abort();
  return 0;
}
