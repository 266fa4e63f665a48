// A ProtobufCAllocator backed by a PostgreSQL memory context (PG zone): protobuf-c's unpacked
// messages live in that context, and running out of memory makes protobuf-c fail (NULL) instead
// of raising an error through the codec's C++ frames.
#pragma once

#include <protobuf-c/protobuf-c.h>

#include "src/pg.hpp"

namespace spawn {

// An allocator that allocates in `context` with MCXT_ALLOC_NO_OOM and frees with pfree. The
// context must outlive every message unpacked with it; resetting it frees them all.
ProtobufCAllocator ProtobufAllocatorFor(MemoryContext context);

}  // namespace spawn
