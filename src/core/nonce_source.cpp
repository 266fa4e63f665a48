// A fast-key-erasure generator (D. J. Bernstein, 2017): a 32-byte ChaCha20 key yields one
// 64-byte block; its first 32 bytes replace the key, the next ones are handed out, and the old
// key and block are wiped. Output is unpredictable as long as the key is, and a key that leaks
// later reveals nothing about earlier output.
//
// Why this is safe across fork and crash (nonces must never repeat under one key):
//  - the state is per process and is seeded from the kernel (randombytes_buf: getrandom) the
//    first time a process asks, and again whenever the process id differs from the seeding
//    one. PostgreSQL forks every backend and worker from the postmaster; a child that inherited
//    a seeded state (the postmaster never seals, but a library might) sees another pid and
//    reseeds before its first nonce, so no two processes share a stream;
//  - nothing is stored: after a crash or restart every process seeds anew from the kernel, so
//    no stream is ever resumed or replayed;
//  - XChaCha20-Poly1305 nonces are 24 random bytes: with independent 256-bit seeds the chance
//    of any repeat among 2^64 nonces is about 2^-64, the same as with getrandom per nonce.
#include "src/core/nonce_source.hpp"

#include <sodium.h>
#include <unistd.h>

#include <cstring>

namespace spawn::nonce_source {

namespace {

constexpr std::size_t kSeedBytes = randombytes_SEEDBYTES;  // 32
constexpr std::size_t kBlockBytes = 64;

unsigned char key[kSeedBytes];
pid_t seeded_pid = 0;

}  // namespace

// Reseeds from the kernel in a new process, then draws one block per call.
void Fill(unsigned char *out, std::size_t length) noexcept {
  if (length > kBlockBytes - kSeedBytes) length = kBlockBytes - kSeedBytes;
  const pid_t pid = getpid();
  if (seeded_pid != pid) {
    randombytes_buf(key, sizeof key);
    seeded_pid = pid;
  }
  unsigned char block[kBlockBytes];
  randombytes_buf_deterministic(block, sizeof block, key);
  std::memcpy(key, block, kSeedBytes);
  std::memcpy(out, block + kSeedBytes, length);
  sodium_memzero(block, sizeof block);
}

}  // namespace spawn::nonce_source
