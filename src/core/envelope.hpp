// The state store's crypto envelope: XChaCha20-Poly1305 (IETF) from libsodium, with
// associated data that binds each ciphertext to its system, actor and revision. Pure C++:
// callers pass buffers they own, so the PostgreSQL zone can use palloc'd memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spawn::envelope {

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kNonceBytes = 24;
inline constexpr std::size_t kTagBytes = 16;
inline constexpr std::size_t kBindingBytes = 32;
inline constexpr std::size_t kDigestBytes = 16;

// What a ciphertext is bound to; a row copied to another binding fails to open.
struct Binding {
  const char *purpose;  // "state", "mailbox", ... so a payload never opens as a state
  const char *system;
  std::size_t system_len;
  const char *actor;
  std::size_t actor_len;
  std::int64_t revision;  // revision for states, message id for mailbox rows
};

// Initialises libsodium once; throws SpawnError if the library cannot start.
void Initialise();

// Decodes a base64 key into `out`; returns false unless it is exactly 32 bytes of base64.
bool DecodeKey(const char *base64, std::size_t length, unsigned char out[kKeyBytes]) noexcept;

// A short public fingerprint of a key, recorded on every row as its key id.
std::uint32_t KeyId(const unsigned char key[kKeyBytes]) noexcept;

// A BLAKE2b digest of `length` bytes: the journal records one per state to check replays.
void Digest(const unsigned char *data, std::size_t length,
            unsigned char out[kDigestBytes]) noexcept;

// Ciphertext length for a plaintext of `length` bytes.
constexpr std::size_t SealedLength(std::size_t length) {
  return length + kTagBytes;
}

// Encrypts `plain` under `key` with a fresh random nonce written to `nonce`; `cipher` must hold
// SealedLength(length) bytes.
void Seal(const unsigned char key[kKeyBytes], const Binding &binding, const unsigned char *plain,
          std::size_t length, unsigned char nonce[kNonceBytes], unsigned char *cipher) noexcept;

// Decrypts into `plain` (length - kTagBytes bytes); returns false when the ciphertext was
// altered, belongs to another binding or was sealed under another key.
bool Open(const unsigned char key[kKeyBytes], const Binding &binding,
          const unsigned char nonce[kNonceBytes], const unsigned char *cipher, std::size_t length,
          unsigned char *plain) noexcept;

}  // namespace spawn::envelope
