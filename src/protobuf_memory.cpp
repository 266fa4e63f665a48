// protobuf-c allocation in PostgreSQL memory contexts (PG zone; see protobuf_memory.hpp).
#include "src/protobuf_memory.hpp"

namespace spawn {

namespace {

// protobuf-c's alloc callback: NULL on exhaustion or an impossible size, never an ereport
// (MCXT_ALLOC_HUGE, so a size past 1 GB is not an error of its own).
void *AllocateInContext(void *context, size_t size) {
  if (!AllocHugeSizeIsValid(size)) return nullptr;
  return MemoryContextAllocExtended(static_cast<MemoryContext>(context), size == 0 ? 1 : size,
                                    MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE);
}

// protobuf-c's free callback; protobuf-c may free NULL, pfree may not.
void FreeInContext(void * /*context*/, void *pointer) {
  if (pointer != nullptr) pfree(pointer);
}

}  // namespace

ProtobufCAllocator ProtobufAllocatorFor(MemoryContext context) {
  ProtobufCAllocator allocator;
  allocator.alloc = AllocateInContext;
  allocator.free = FreeInContext;
  allocator.allocator_data = context;
  return allocator;
}

}  // namespace spawn
