// The binding is hashed (BLAKE2b, length-prefixed fields) into 32 bytes of associated data, so
// no allocation is needed and no two bindings can be confused by concatenation.
#include "src/core/envelope.hpp"

#include "src/core/nonce_source.hpp"

#include <sodium.h>

#include <cstring>

#include "src/core/errors.hpp"

namespace spawn::envelope {

namespace {

// Feeds one length-prefixed field into the hash.
void HashField(crypto_generichash_state *state, const void *data, std::size_t length) {
  const std::uint64_t prefix = length;
  crypto_generichash_update(state, reinterpret_cast<const unsigned char *>(&prefix), sizeof prefix);
  crypto_generichash_update(state, static_cast<const unsigned char *>(data), length);
}

// Computes the associated data for a binding.
void BindingDigest(const Binding &binding, unsigned char out[kBindingBytes]) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kBindingBytes);
  static const char kVersion[] = "spawn-envelope-v1";
  HashField(&state, kVersion, sizeof kVersion - 1);
  HashField(&state, binding.purpose, std::strlen(binding.purpose));
  HashField(&state, binding.system, binding.system_len);
  HashField(&state, binding.actor, binding.actor_len);
  HashField(&state, &binding.revision, sizeof binding.revision);
  crypto_generichash_final(&state, out, kBindingBytes);
}

}  // namespace

// Starts libsodium; safe to call more than once.
void Initialise() {
  if (sodium_init() < 0) throw SpawnError(sqlstate::kInternal, "could not initialise libsodium");
}

// Decodes standard base64 (with or without padding, surrounding whitespace ignored).
bool DecodeKey(const char *base64, std::size_t length, unsigned char out[kKeyBytes]) noexcept {
  unsigned char decoded[kKeyBytes + 4];
  std::size_t decoded_len = 0;
  const char *end = nullptr;
  const int rc = sodium_base642bin(decoded, sizeof decoded, base64, length, " \t\r\n", &decoded_len,
                                   &end, sodium_base64_VARIANT_ORIGINAL);
  const bool ok = rc == 0 && end == base64 + length && decoded_len == kKeyBytes;
  if (ok) std::memcpy(out, decoded, kKeyBytes);
  sodium_memzero(decoded, sizeof decoded);
  return ok;
}

// Hashes the key with a fixed label and keeps 31 bits, so the id fits any integer column.
std::uint32_t KeyId(const unsigned char key[kKeyBytes]) noexcept {
  static const unsigned char kLabel[] = "spawn-key-id";
  unsigned char digest[16];
  crypto_generichash(digest, sizeof digest, kLabel, sizeof kLabel - 1, key, kKeyBytes);
  std::uint32_t id = 0;
  std::memcpy(&id, digest, sizeof id);
  return id & 0x7fffffffu;
}

// Unkeyed BLAKE2b: digests are stored inside sealed journal entries, never in the clear.
void Digest(const unsigned char *data, std::size_t length,
            unsigned char out[kDigestBytes]) noexcept {
  crypto_generichash(out, kDigestBytes, data, length, nullptr, 0);
}

// Encrypts with a random nonce.
void Seal(const unsigned char key[kKeyBytes], const Binding &binding, const unsigned char *plain,
          std::size_t length, unsigned char nonce[kNonceBytes], unsigned char *cipher) noexcept {
  unsigned char aad[kBindingBytes];
  BindingDigest(binding, aad);
  nonce_source::Fill(nonce, kNonceBytes);  // a fresh random nonce per seal, nonce_source.cpp
  unsigned long long cipher_len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(cipher, &cipher_len, plain, length, aad, sizeof aad,
                                             nullptr, nonce, key);
}

// Decrypts and authenticates.
bool Open(const unsigned char key[kKeyBytes], const Binding &binding,
          const unsigned char nonce[kNonceBytes], const unsigned char *cipher, std::size_t length,
          unsigned char *plain) noexcept {
  if (length < kTagBytes) return false;
  unsigned char aad[kBindingBytes];
  BindingDigest(binding, aad);
  unsigned long long plain_len = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plain_len, nullptr, cipher, length, aad,
                                                    sizeof aad, nonce, key) == 0;
}

}  // namespace spawn::envelope
