// Copyright (c) Vellum authors.
//
// A node scheme: how nodes are encoded, hashed, referenced and proven. The trie
// algorithm (trie.cc) is written once against this interface; kEthereum and kNative
// are its two implementations. Not a public header.

#ifndef VELLUM_TRIE_SCHEME_H_
#define VELLUM_TRIE_SCHEME_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trie/node.h"
#include "trie/trie.h"

namespace vellum::trie {

// One node met on the walk from the root towards a key, for building proofs.
struct ProofVisit {
  const Node* node = nullptr;
  size_t depth = 0;  // nibbles of the key consumed before this node
};

class Scheme {
 public:
  virtual ~Scheme() = default;

  virtual TrieScheme id() const = 0;
  virtual crypto::Hash256 EmptyRoot() const = 0;

  // The reference a parent holds to `node` (all of whose children have refs), and, if
  // `encoding` is not null, the encoding to store for it. The root is always
  // referenced by hash. Verifying a loaded node needs only the reference, so it passes
  // null and a scheme whose hash does not come from the encoding skips building it.
  virtual NodeRef ComputeRef(const Node& node, bool is_root, std::string* encoding) const = 0;

  // Decodes a stored encoding and checks that it is the node `expected` refers to.
  // Hash-referenced children come back with ref set and version 0 (the record holds
  // the versions); inline children come back decoded in ChildRef::node. Corruption
  // on any mismatch or malformed input.
  virtual Result<std::shared_ptr<Node>> DecodeVerified(ByteView encoding,
                                                       const NodeRef& expected) const = 0;

  // Proof items for the walk `visits` towards `key` (nibbles). The walk ends at the
  // node where the key was found or shown absent.
  virtual std::vector<Bytes> BuildProof(const std::vector<ProofVisit>& visits,
                                        const Nibbles& key) const = 0;

  virtual Result<std::optional<Bytes>> VerifyProof(const crypto::Hash256& root, const Nibbles& key,
                                                   const std::vector<Bytes>& items) const = 0;
};

const Scheme& EthereumScheme();
const Scheme& NativeScheme();
const Scheme& SchemeFor(TrieScheme scheme);

}  // namespace vellum::trie

#endif  // VELLUM_TRIE_SCHEME_H_
