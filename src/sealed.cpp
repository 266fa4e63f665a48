// The plaintext is the binary jsonb body, so opening a value needs no parsing.
#include "src/sealed.hpp"

#include "src/key_check.hpp"

#include "src/keyring.hpp"

namespace spawn {

namespace {

// A palloc'd bytea of `length` bytes.
bytea *NewBytea(size_t length) {
  auto *value = static_cast<bytea *>(palloc(VARHDRSZ + length));
  SET_VARSIZE(value, VARHDRSZ + length);
  return value;
}

// Points at the bytes of a bytea.
unsigned char *Bytes(bytea *value) {
  return reinterpret_cast<unsigned char *>(VARDATA_ANY(value));
}

}  // namespace

// Builds a binding.
envelope::Binding MakeBinding(const char *purpose, const char *system, const char *actor,
                              int64 number) {
  return envelope::Binding{purpose, system, strlen(system), actor, strlen(actor), number};
}

// Seals with a fresh nonce under the active key, once it is known to be this database's.
SealedValue SealJsonb(const envelope::Binding &binding, const Jsonb *value) {
  uint32_t key_id;
  const unsigned char *key = KeyringRequire(&key_id);
  RequireDatabaseKeys();
  const size_t length = VARSIZE(value) - VARHDRSZ;
  SealedValue sealed{key_id, NewBytea(envelope::kNonceBytes),
                     NewBytea(envelope::SealedLength(length))};
  envelope::Seal(key, binding, reinterpret_cast<const unsigned char *>(VARDATA(value)), length,
                 Bytes(sealed.nonce), Bytes(sealed.ciphertext));
  return sealed;
}

// Finds the key by id, then decrypts and authenticates; errors name the value
// psprintf(what_format, name).
Jsonb *OpenJsonbNamed(const envelope::Binding &binding, const SealedValue &sealed,
                      const char *what_format, const char *name) {
  uint32_t active_id;
  KeyringRequire(&active_id);
  const unsigned char *key = KeyringFind(sealed.key_id);
  if (key == nullptr) {
    const char *what = psprintf(what_format, name);
    ereport(ERROR,
            (errcode(ERRCODE_DATA_CORRUPTED), errmsg("%s was encrypted with another key", what),
             errdetail("It has key id %lld, which is not configured (the active key has "
                       "id %u).",
                       static_cast<long long>(sealed.key_id), active_id),
             errhint("Configure the key that wrote it, after the active key if you are "
                     "rotating keys.")));
  }
  const size_t length = VARSIZE_ANY_EXHDR(sealed.ciphertext);
  if (VARSIZE_ANY_EXHDR(sealed.nonce) != envelope::kNonceBytes || length < envelope::kTagBytes)
    ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                    errmsg("%s is malformed", psprintf(what_format, name))));
  auto *value = reinterpret_cast<Jsonb *>(NewBytea(length - envelope::kTagBytes));
  if (!envelope::Open(key, binding, Bytes(sealed.nonce), Bytes(sealed.ciphertext), length,
                      reinterpret_cast<unsigned char *>(VARDATA(value)))) {
    const char *what = psprintf(what_format, name);
    ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("%s failed authentication", what),
                    errdetail("The stored ciphertext was altered, or was sealed for another actor, "
                              "revision or message than this one (%lld).",
                              static_cast<long long>(binding.revision)),
                    errhint("Restore the row from a backup or an earlier revision.")));
  }
  return value;
}

// The value's name is already formatted.
Jsonb *OpenJsonb(const envelope::Binding &binding, const SealedValue &sealed, const char *what) {
  return OpenJsonbNamed(binding, sealed, "%s", what);
}

}  // namespace spawn
