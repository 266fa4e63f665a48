// libFuzzer target of DecodeInvocationRequest, the decoder of invocations posted to the gateway.
#include <cstdint>

#include "test/fuzz/wire_fuzz.hpp"

// One input: one request body; its payload must have a JSON form.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  spawn::wire::InvocationRequest request;
  std::string error;
  if (!spawn::wire::DecodeInvocationRequest(data, size, nullptr, &request, &error)) return 0;
  spawn::wire::fuzz::RequireValue(request.payload);
  return 0;
}
