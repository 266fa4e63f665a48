// Fresh, unpredictable nonces without a system call per nonce (issue 11: one getrandom per
// write cost more than the cipher). Pure C++ zone.
#pragma once

#include <cstddef>

namespace spawn::nonce_source {

// Fills `out` (at most 32 bytes) with bytes from this process's ChaCha20 generator, seeded
// from the kernel on first use in each process. Never fails.
void Fill(unsigned char *out, std::size_t length) noexcept;

}  // namespace spawn::nonce_source
