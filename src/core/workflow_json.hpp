// Conversion of a host's Workflow message into spawn's own JSON workflow object
// (docs/workflows.md), built as text so numbers and payloads are never re-parsed.
#pragma once

#include <cstdint>
#include <string>

#include "src/core/codec_support.hpp"

namespace spawn::wire::detail {

// The workflow object of `workflow`, or "" when it is absent or holds nothing. Throws WireError
// on strings that are not UTF-8 or payloads that do not decode.
std::string WorkflowJson(const Spawn__Workflow *workflow, const ProtobufCAllocator *alloc,
                         int64_t now_ms);

}  // namespace spawn::wire::detail
