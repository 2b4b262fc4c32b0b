// Copyright (c) Vellum authors.
//
// The Ethereum node scheme (Yellow Paper, appendix D): RLP-encoded nodes, hex-prefix
// paths, Keccak-256, and nodes whose encoding is shorter than 32 bytes inlined in
// their parent instead of referenced by hash. Proofs are eth_getProof's list of the
// RLP encodings of the hash-referenced nodes from the root to the key.

#include <string>

#include "crypto/hash.h"
#include "trie/rlp.h"
#include "trie/scheme.h"
#include "vellum/check.h"

namespace vellum::trie {
namespace {

using crypto::Hash256;

// Appends the RLP item a parent holds for `ref`: the inline encoding itself, the
// 32-byte hash as a string, or the empty string for no child.
void AppendRefItem(const NodeRef& ref, std::string* out) {
  if (ref.is_inline()) {
    out->append(AsChars(ref.view()));
  } else {
    rlp::AppendString(ref.view(), out);  // 32 bytes, or empty
  }
}

size_t RefItemSize(const NodeRef& ref) {
  return ref.is_inline() ? ref.size : rlp::StringHeaderSize(ref.view()) + ref.size;
}

Status Malformed(const std::string& what) {
  return Status::Corruption("malformed Ethereum trie node: " + what);
}

// Decodes one RLP node item (already split out of its input).
Result<std::shared_ptr<Node>> DecodeNodeItem(const rlp::Item& item, int inline_depth);

// A child slot item: empty string, 32-byte hash string, or an inline node list.
Status DecodeChild(const rlp::Item& item, int inline_depth, ChildRef* child) {
  if (!item.is_list) {
    if (item.payload.empty()) return Status::OK();
    if (item.payload.size() != 32) return Malformed("child reference is not 32 bytes");
    Hash256 h;
    std::memcpy(h.data(), item.payload.data(), 32);
    child->ref = NodeRef::Hash(h);
    return Status::OK();
  }
  if (item.encoded.size() >= 32) return Malformed("inline child of 32 bytes or more");
  if (inline_depth > 64) return Malformed("inline nodes nested too deeply");
  VELLUM_ASSIGN_OR_RETURN(child->node, DecodeNodeItem(item, inline_depth + 1));
  child->ref = NodeRef::Inline(item.encoded);
  return Status::OK();
}

Result<std::shared_ptr<Node>> DecodeNodeItem(const rlp::Item& item, int inline_depth) {
  if (!item.is_list) return Malformed("node is not a list");
  std::shared_ptr<Node> node;
  if (item.children.size() == 2) {
    const rlp::Item& path_item = item.children[0];
    if (path_item.is_list) return Malformed("path is a list");
    Nibbles path;
    bool is_leaf = false;
    VELLUM_RETURN_IF_ERROR(rlp::HexPrefixDecode(path_item.payload, &path, &is_leaf));
    if (is_leaf) {
      const rlp::Item& value = item.children[1];
      if (value.is_list || value.payload.empty()) return Malformed("leaf value");
      node = Node::MakeLeaf(std::move(path), Bytes(value.payload.begin(), value.payload.end()));
    } else {
      if (path.empty()) return Malformed("extension with an empty path");
      ChildRef child;
      VELLUM_RETURN_IF_ERROR(DecodeChild(item.children[1], inline_depth, &child));
      if (child.empty()) return Malformed("extension without a child");
      node = Node::MakeExtension(std::move(path), std::move(child));
    }
  } else if (item.children.size() == 17) {
    node = Node::MakeBranch();
    for (int i = 0; i < 16; ++i) {
      ChildRef child;
      VELLUM_RETURN_IF_ERROR(DecodeChild(item.children[i], inline_depth, &child));
      if (!child.empty()) node->children.mut(i) = std::move(child);
    }
    const rlp::Item& value = item.children[16];
    if (value.is_list) return Malformed("branch value is a list");
    node->value.assign(value.payload.begin(), value.payload.end());
  } else {
    return Malformed("node list of " + std::to_string(item.children.size()) + " items");
  }
  node->dirty = false;
  return node;
}

Status BadProof(const std::string& what) {
  return Status::Corruption("invalid Ethereum trie proof: " + what);
}

class EthereumSchemeImpl final : public Scheme {
 public:
  TrieScheme id() const override { return TrieScheme::kEthereum; }

  Hash256 EmptyRoot() const override {
    const uint8_t empty_string = 0x80;  // RLP("")
    return crypto::Keccak256(ByteView(&empty_string, 1));
  }

  NodeRef ComputeRef(const Node& node, bool is_root, std::string* encoding) const override {
    // Ethereum hashes the encoding itself, so it is always built.
    std::string local;
    if (encoding == nullptr) encoding = &local;
    encoding->clear();
    std::string payload;
    switch (node.kind) {
      case Node::Kind::kLeaf: {
        const std::string hp = rlp::HexPrefixEncode(node.path.data(), node.path.size(), true);
        rlp::AppendString(AsBytes(hp), &payload);
        rlp::AppendString(node.value, &payload);
        break;
      }
      case Node::Kind::kExtension: {
        const std::string hp = rlp::HexPrefixEncode(node.path.data(), node.path.size(), false);
        rlp::AppendString(AsBytes(hp), &payload);
        AppendRefItem(node.children[0].ref, &payload);
        break;
      }
      case Node::Kind::kBranch: {
        size_t size = rlp::StringHeaderSize(node.value) + node.value.size();
        for (const ChildRef& c : node.children) size += RefItemSize(c.ref);
        payload.reserve(size);
        for (const ChildRef& c : node.children) AppendRefItem(c.ref, &payload);
        rlp::AppendString(node.value, &payload);
        break;
      }
    }
    rlp::AppendListHeader(payload.size(), encoding);
    encoding->append(payload);
    if (!is_root && encoding->size() < 32) return NodeRef::Inline(AsBytes(*encoding));
    return NodeRef::Hash(crypto::Keccak256(AsBytes(*encoding)));
  }

  Result<std::shared_ptr<Node>> DecodeVerified(ByteView encoding,
                                               const NodeRef& expected) const override {
    if (expected.is_hash()) {
      if (crypto::Keccak256(encoding) != expected.hash()) {
        return Status::Corruption(
            "node hash mismatch: stored node does not match its parent's hash");
      }
    } else if (!ConstantTimeEquals(encoding, expected.view())) {
      return Status::Corruption("inline node does not match its parent's reference");
    }
    VELLUM_ASSIGN_OR_RETURN(rlp::Item item, rlp::Decode(encoding));
    return DecodeNodeItem(item, 0);
  }

  std::vector<Bytes> BuildProof(const std::vector<ProofVisit>& visits,
                                const Nibbles& /*key*/) const override {
    std::vector<Bytes> items;
    std::string encoding;
    for (size_t i = 0; i < visits.size(); ++i) {
      const NodeRef ref = ComputeRef(*visits[i].node, i == 0, &encoding);
      // Inline nodes travel inside their parent's encoding.
      if (ref.is_hash()) items.emplace_back(encoding.begin(), encoding.end());
    }
    return items;
  }

  Result<std::optional<Bytes>> VerifyProof(const Hash256& root, const Nibbles& key,
                                           const std::vector<Bytes>& items) const override {
    if (items.empty()) {
      if (root == EmptyRoot()) return std::optional<Bytes>();
      return BadProof("empty proof for a non-empty root");
    }
    NodeRef expected = NodeRef::Hash(root);
    size_t used = 0;
    size_t depth = 0;
    // Each iteration descends one node; the key bounds the number of iterations.
    for (size_t steps = 0; steps <= key.size() + 1; ++steps) {
      ByteView encoding;
      if (expected.is_hash()) {
        if (used >= items.size()) return BadProof("proof ends before the key's node");
        encoding = items[used];
        if (crypto::Keccak256(encoding) != expected.hash()) {
          return BadProof("item " + std::to_string(used) + " does not match the hash expected");
        }
        ++used;
      } else {
        encoding = expected.view();
      }
      Result<rlp::Item> decoded = rlp::Decode(encoding);
      if (!decoded.ok()) return BadProof(decoded.status().message());
      Result<std::shared_ptr<Node>> node_or = DecodeNodeItem(*decoded, 0);
      if (!node_or.ok()) return BadProof(node_or.status().message());
      const Node& node = **node_or;

      std::optional<Bytes> result;
      bool done = true;
      if (node.is_leaf()) {
        if (key.size() - depth == node.path.size() &&
            std::equal(node.path.begin(), node.path.end(), key.begin() + depth)) {
          result = node.value;
        }
      } else if (node.is_extension()) {
        if (key.size() - depth >= node.path.size() &&
            std::equal(node.path.begin(), node.path.end(), key.begin() + depth)) {
          depth += node.path.size();
          expected = node.children[0].ref;
          done = false;
        }
      } else if (depth == key.size()) {
        if (!node.value.empty()) result = node.value;
      } else {
        const ChildRef& child = node.children[key[depth]];
        ++depth;
        if (!child.ref.empty()) {
          expected = child.ref;
          done = false;
        }
      }
      if (done) {
        if (used != items.size()) {
          return BadProof(std::to_string(items.size() - used) + " items left unused");
        }
        return result;
      }
    }
    return BadProof("proof is longer than the key allows");
  }
};

}  // namespace

const Scheme& EthereumScheme() {
  static const EthereumSchemeImpl* const scheme = new EthereumSchemeImpl();
  return *scheme;
}

}  // namespace vellum::trie
