// libFuzzer target of DecodeRegistrationRequest, the decoder of a host's registration.
#include <cstdint>

#include "test/fuzz/wire_fuzz.hpp"

// One input: one registration body; every actor's initial state must have a JSON form.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  spawn::wire::RegistrationRequest request;
  std::string error;
  if (!spawn::wire::DecodeRegistrationRequest(data, size, nullptr, &request, &error)) return 0;
  for (const auto &actor : request.actors) spawn::wire::fuzz::RequireValue(actor.initial_state);
  return 0;
}
