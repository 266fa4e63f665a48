// libFuzzer target of DecodeActorInvocationResponse, the decoder of what an actor host answers.
// A decoded response must give JSON values and a workflow object that is JSON.
#include <cstdint>

#include "test/fuzz/wire_fuzz.hpp"

// One input: one response body, decoded at a fixed "now".
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  spawn::wire::InvocationResult result;
  std::string error;
  if (!spawn::wire::DecodeActorInvocationResponse(data, size, nullptr, 1700000000000, &result,
                                                  &error))
    return 0;
  spawn::wire::fuzz::RequireValue(result.state);
  spawn::wire::fuzz::RequireValue(result.reply);
  if (!result.workflow_json.empty()) spawn::wire::fuzz::RequireJson(result.workflow_json);
  return 0;
}
