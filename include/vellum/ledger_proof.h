// Copyright (c) Vellum authors.
//
// LedgerProof: evidence that, at a version whose state root is R, a table's key held
// a given value — or was absent. It chains two trie proofs: the key's keyed hash in
// the table's trie (to the table root), and the table's name hash in the top trie (to
// R). VerifyLedgerProof checks it with no database.
//
// What a verifier without the master key can and cannot check: the trie paths bind
// the key's keyed hash to the value's keyed hash under R, but keyed hashes (which
// hide guessable keys and values from the storage host) cannot be recomputed without
// the key. With the ledger's MasterKey the verifier also checks that the table name,
// key and value in the proof are the ones those hashes stand for. The result says
// which was checked. `version` is informational: what fixes the version is the trusted
// root the proof is checked against (e.g. from a signed Digest, which names its
// version). docs/formats/ledger-proof.md describes the serialized form.
//
// Thread safety: value types and pure functions.

#ifndef VELLUM_LEDGER_PROOF_H_
#define VELLUM_LEDGER_PROOF_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vellum/hash.h"
#include "vellum/keys.h"
#include "vellum/result.h"

namespace vellum {

struct LedgerProof {
  std::string ledger_id;  // 32 hex digits (the keyed hashes are per ledger)
  uint64_t version = 0;
  Hash state_root{};
  std::string table;
  std::string key;
  std::optional<std::string> value;  // std::nullopt: the proof shows the key absent

  // The keyed hashes the tries are keyed by, the table's entry in the top trie, and
  // the two trie proofs (native scheme steps; docs/formats/proof.md).
  Hash table_hash{};
  Hash key_hash{};
  std::optional<Hash> value_hash;
  std::string table_entry;  // the top trie's value for the table (empty if absent)
  std::vector<std::string> top_proof;
  std::vector<std::string> table_proof;

  // Versioned binary and JSON forms (the JSON form is what `vellum-db get --proof`
  // prints and `vellum-db proof verify` reads).
  std::string Serialize() const;
  static Result<LedgerProof> Deserialize(std::string_view data);
  std::string ToJson() const;
  static Result<LedgerProof> FromJson(std::string_view json);
};

struct ProofCheck {
  bool present = false;
  std::optional<std::string> value;
  // True when a MasterKey was given and the table name, key and value were checked
  // against their keyed hashes.
  bool binding_checked = false;
};

// Checks `proof` against `trusted_state_root` (a root the caller trusts, e.g. from a
// signed Digest; pass proof.state_root only if it was obtained some other trusted
// way). Corruption with the reason when anything fails; the proof's claimed value is
// only returned when everything holds. With `key`, also checks the keyed hashes.
Result<ProofCheck> VerifyLedgerProof(const LedgerProof& proof, const Hash& trusted_state_root,
                                     const MasterKey* key = nullptr);

}  // namespace vellum

#endif  // VELLUM_LEDGER_PROOF_H_
