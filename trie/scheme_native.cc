// Copyright (c) Vellum authors.
//
// The native node scheme (docs/formats/trie.md): SHA-256 with a domain byte per kind
// of hash, and each branch hashed as a 4-level binary tree over its 16 slots so that
// a proof carries at most 4 sibling hashes per branch (and omits empty ones).

#include <string>

#include "crypto/hash.h"
#include "trie/scheme.h"
#include "vellum/check.h"

namespace vellum::trie {
namespace {

using crypto::Hash256;

constexpr uint8_t kLeafTag = 0x00;
constexpr uint8_t kExtensionTag = 0x01;
constexpr uint8_t kBranchTag = 0x02;
constexpr uint8_t kPairTag = 0x03;
constexpr uint8_t kValueTag = 0x04;

// Proof item tags (docs/formats/proof.md).
constexpr uint8_t kStepBranch = 0x02;
constexpr uint8_t kStepExtension = 0x01;
constexpr uint8_t kEndLeaf = 0x00;
constexpr uint8_t kEndBranch = 0x03;
constexpr uint8_t kEndOtherLeaf = 0x10;
constexpr uint8_t kEndOtherExtension = 0x11;

const Hash256 kZero{};

bool IsZero(const Hash256& h) { return h == kZero; }

// Appends varint(count) || packed nibbles: the path form shared by encodings and
// hashes.
void AppendPath(const uint8_t* nibbles, size_t count, std::string* out) {
  PutVarint64(out, count);
  AppendPackedNibbles(nibbles, count, out);
}

Hash256 HashOf(const std::string& s) { return crypto::Sha256(AsBytes(s)); }

Hash256 ValueHash(ByteView value) {
  // Most values are short: one buffer and one call, without a hasher's allocation.
  uint8_t buf[256];
  if (value.size() < sizeof(buf)) {
    buf[0] = kValueTag;
    if (!value.empty()) std::memcpy(buf + 1, value.data(), value.size());
    return crypto::Sha256(ByteView(buf, value.size() + 1));
  }
  crypto::Sha256Hasher h;
  const uint8_t tag = kValueTag;
  h.Update(ByteView(&tag, 1)).Update(value);
  return h.Finish();
}

// tag || path(path, count) || h: the message of leaf and extension hashes. Keys of
// up to 64 bytes (the ledger's are 32) are hashed from a stack buffer.
Hash256 TagPathHash(uint8_t tag, const uint8_t* path, size_t count, const Hash256& h) {
  uint8_t buf[1 + 2 + 64 + 32];
  if (count > 128) {
    std::string s(1, static_cast<char>(tag));
    AppendPath(path, count, &s);
    s.append(reinterpret_cast<const char*>(h.data()), h.size());
    return HashOf(s);
  }
  size_t n = 0;
  buf[n++] = tag;
  if (count >= 0x80) {  // varint(count), count <= 128
    buf[n++] = static_cast<uint8_t>(count | 0x80);
    buf[n++] = static_cast<uint8_t>(count >> 7);
  } else {
    buf[n++] = static_cast<uint8_t>(count);
  }
  for (size_t i = 0; i < count; i += 2) {
    const uint8_t lo = i + 1 < count ? path[i + 1] : 0;
    VELLUM_CHECK(path[i] < 16 && lo < 16);
    buf[n++] = static_cast<uint8_t>((path[i] << 4) | lo);
  }
  std::memcpy(buf + n, h.data(), 32);
  return crypto::Sha256(ByteView(buf, n + 32));
}

Hash256 LeafHash(const uint8_t* path, size_t count, const Hash256& value_hash) {
  return TagPathHash(kLeafTag, path, count, value_hash);
}

Hash256 ExtensionHash(const uint8_t* path, size_t count, const Hash256& child) {
  return TagPathHash(kExtensionTag, path, count, child);
}

Hash256 PairHash(const Hash256& left, const Hash256& right) {
  if (IsZero(left) && IsZero(right)) return kZero;  // empty subtrees stay empty
  uint8_t buf[65];
  buf[0] = kPairTag;
  std::memcpy(buf + 1, left.data(), 32);
  std::memcpy(buf + 33, right.data(), 32);
  return crypto::Sha256(ByteView(buf, sizeof(buf)));
}

Hash256 BranchHash(const Hash256& value_commitment, const Hash256& children_root) {
  uint8_t buf[65];
  buf[0] = kBranchTag;
  std::memcpy(buf + 1, value_commitment.data(), 32);
  std::memcpy(buf + 33, children_root.data(), 32);
  return crypto::Sha256(ByteView(buf, sizeof(buf)));
}

// The binary tree over 16 slot hashes: level0 = slots, root = the children root M.
// Built on the stack; a dense branch keeps its upper levels as its memo (SlotMemo).
struct SlotTree {
  static constexpr int kMemoMinChildren = 6;

  // What a branch keeps: every level but the slots themselves, which the branch holds.
  // It stays valid for the slots whose ChildArray::changed() bit is clear.
  struct SlotMemo {
    Hash256 level1[8];
    Hash256 level2[4];
    Hash256 level3[2];
    Hash256 root;
  };

  Hash256 level0[16];
  SlotMemo up;

  // Builds the tree of `branch`, reusing every pair of its memo (if any) none of whose
  // slots changed since: after one child changes, only its 4 ancestors are rehashed.
  void Build(const Node& branch) {
    const auto* memo = static_cast<const SlotMemo*>(branch.memo.get());
    const uint16_t changed = memo == nullptr ? uint16_t{0xffff} : branch.children.changed();
    int present = 0;
    const uint16_t written = branch.children.written();
    for (int i = 0; i < 16; ++i) {
      const NodeRef* r = ((written >> i) & 1) != 0 ? &branch.children[i].ref : nullptr;
      if (r == nullptr || r->empty()) {
        level0[i] = kZero;
      } else {
        level0[i] = r->hash();
        ++present;
      }
    }
    present_ = present;
    // Pair i of a level covers `span` slots from i * span.
    auto level = [changed](const Hash256* below, const Hash256* memo_level, Hash256* out, int count,
                           int span) {
      const uint16_t ones = static_cast<uint16_t>((1u << span) - 1);
      for (int i = 0; i < count; ++i) {
        if (memo_level != nullptr && ((changed >> (i * span)) & ones) == 0) {
          out[i] = memo_level[i];
        } else {
          out[i] = PairHash(below[2 * i], below[2 * i + 1]);
        }
      }
    };
    const bool m = memo != nullptr;
    level(level0, m ? memo->level1 : nullptr, up.level1, 8, 2);
    level(up.level1, m ? memo->level2 : nullptr, up.level2, 4, 4);
    level(up.level2, m ? memo->level3 : nullptr, up.level3, 2, 8);
    if (m && changed == 0) {
      up.root = memo->root;
    } else {
      up.root = PairHash(up.level3[0], up.level3[1]);
    }
  }

  // Builds the tree of `branch` and, when the node may still be written, refreshes its
  // memo.
  void Of(const Node& branch) {
    Build(branch);
    if (!branch.dirty) return;  // shared: read-only
    // A sparse branch rebuilds its tree from few hashes (pairs of empty slots cost
    // nothing), so only dense ones keep a memo, which the node cache holds.
    if (present_ >= kMemoMinChildren) {
      branch.memo = std::make_shared<const SlotMemo>(up);
      branch.memo_bytes = sizeof(SlotMemo);
    } else {
      branch.memo.reset();
      branch.memo_bytes = 0;
    }
    branch.children.ClearChanged();
  }

  // The 4 siblings of `slot`, bottom-up.
  void Siblings(int slot, Hash256 out[4]) const {
    out[0] = level0[slot ^ 1];
    out[1] = up.level1[(slot >> 1) ^ 1];
    out[2] = up.level2[(slot >> 2) ^ 1];
    out[3] = up.level3[(slot >> 3) ^ 1];
  }

 private:
  int present_ = 0;
};

// Recomputes the children root from the hash at `slot` and its 4 siblings.
Hash256 FoldSiblings(int slot, Hash256 h, const Hash256 siblings[4]) {
  for (int level = 0; level < 4; ++level) {
    const bool right = ((slot >> level) & 1) != 0;
    h = right ? PairHash(siblings[level], h) : PairHash(h, siblings[level]);
  }
  return h;
}

Hash256 ValueCommitment(const Node& branch) {
  return branch.value.empty() ? kZero : ValueHash(branch.value);
}

// --- decoding helpers ------------------------------------------------------------

class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}
  bool done() const { return in_.empty(); }
  bool Byte(uint8_t* b) {
    if (in_.empty()) return false;
    *b = in_[0];
    in_ = in_.subspan(1);
    return true;
  }
  bool Varint(uint64_t* v) { return GetVarint64(&in_, v); }
  bool Take(size_t n, ByteView* out) {
    if (in_.size() < n) return false;
    *out = in_.first(n);
    in_ = in_.subspan(n);
    return true;
  }
  bool Hash(Hash256* h) {
    ByteView b;
    if (!Take(32, &b)) return false;
    std::memcpy(h->data(), b.data(), 32);
    return true;
  }
  // varint(count) || packed nibbles, canonical (zero pad nibble).
  bool Path(Nibbles* out) {
    uint64_t count = 0;
    if (!Varint(&count) || count > 2 * kMaxKeySize) return false;
    ByteView packed;
    if (!Take((count + 1) / 2, &packed)) return false;
    out->resize(count);
    for (size_t i = 0; i < count; ++i) {
      const uint8_t b = packed[i / 2];
      (*out)[i] = (i % 2 == 0) ? (b >> 4) : (b & 0x0f);
    }
    if (count % 2 == 1 && (packed.back() & 0x0f) != 0) return false;
    return true;
  }
  bool Value(Bytes* out) {
    uint64_t len = 0;
    if (!Varint(&len) || len == 0 || len > kMaxValueSize) return false;
    ByteView v;
    if (!Take(len, &v)) return false;
    out->assign(v.begin(), v.end());
    return true;
  }

 private:
  ByteView in_;
};

Status Malformed(const char* what) {
  return Status::Corruption(std::string("malformed native trie node: ") + what);
}

Status BadProof(const std::string& what) {
  return Status::Corruption("invalid native trie proof: " + what);
}

bool Matches(const Nibbles& key, size_t depth, const Nibbles& fragment) {
  return key.size() - depth >= fragment.size() &&
         std::equal(fragment.begin(), fragment.end(), key.begin() + depth);
}

class NativeSchemeImpl final : public Scheme {
 public:
  TrieScheme id() const override { return TrieScheme::kNative; }
  Hash256 EmptyRoot() const override { return kZero; }

  NodeRef ComputeRef(const Node& node, bool /*is_root*/, std::string* encoding) const override {
    // The native hash is structural: the stored encoding is built only when asked for.
    if (encoding != nullptr) {
      encoding->clear();
      AppendEncoding(node, encoding);
    }
    switch (node.kind) {
      case Node::Kind::kLeaf:
        return NodeRef::Hash(LeafHash(node.path.data(), node.path.size(), ValueHash(node.value)));
      case Node::Kind::kExtension:
        VELLUM_CHECK(node.children[0].ref.is_hash());
        return NodeRef::Hash(
            ExtensionHash(node.path.data(), node.path.size(), node.children[0].ref.hash()));
      case Node::Kind::kBranch: {
        SlotTree tree;
        tree.Of(node);
        return NodeRef::Hash(BranchHash(ValueCommitment(node), tree.up.root));
      }
    }
    VELLUM_UNREACHABLE();
  }

  static void AppendEncoding(const Node& node, std::string* out) {
    switch (node.kind) {
      case Node::Kind::kLeaf:
        out->push_back(static_cast<char>(kLeafTag));
        AppendPath(node.path.data(), node.path.size(), out);
        PutVarint64(out, node.value.size());
        out->append(AsChars(node.value));
        return;
      case Node::Kind::kExtension:
        out->push_back(static_cast<char>(kExtensionTag));
        AppendPath(node.path.data(), node.path.size(), out);
        out->append(AsChars(node.children[0].ref.view()));
        return;
      case Node::Kind::kBranch: {
        uint16_t bitmap = 0;
        for (int i = 0; i < 16; ++i) {
          if (!node.children[i].ref.empty()) bitmap |= static_cast<uint16_t>(1u << i);
        }
        out->push_back(static_cast<char>(kBranchTag));
        out->push_back(static_cast<char>(bitmap >> 8));
        out->push_back(static_cast<char>(bitmap & 0xff));
        out->push_back(node.value.empty() ? 0 : 1);
        if (!node.value.empty()) {
          PutVarint64(out, node.value.size());
          out->append(AsChars(node.value));
        }
        for (int i = 0; i < 16; ++i) {
          if (!node.children[i].ref.empty()) {
            VELLUM_CHECK(node.children[i].ref.is_hash());
            out->append(AsChars(node.children[i].ref.view()));
          }
        }
        return;
      }
    }
  }

  Result<std::shared_ptr<Node>> DecodeVerified(ByteView encoding,
                                               const NodeRef& expected) const override {
    Reader r(encoding);
    uint8_t tag = 0;
    if (!r.Byte(&tag)) return Malformed("empty encoding");
    std::shared_ptr<Node> node;
    if (tag == kLeafTag) {
      node = Node::MakeLeaf({}, {});
      if (!r.Path(&node->path) || !r.Value(&node->value)) return Malformed("bad leaf");
    } else if (tag == kExtensionTag) {
      ChildRef child;
      Hash256 h;
      Nibbles path;
      if (!r.Path(&path) || path.empty() || !r.Hash(&h) || IsZero(h)) {
        return Malformed("bad extension");
      }
      child.ref = NodeRef::Hash(h);
      node = Node::MakeExtension(std::move(path), std::move(child));
    } else if (tag == kBranchTag) {
      node = Node::MakeBranch();
      uint8_t hi = 0, lo = 0, has_value = 0;
      if (!r.Byte(&hi) || !r.Byte(&lo) || !r.Byte(&has_value) || has_value > 1) {
        return Malformed("bad branch header");
      }
      if (has_value == 1 && !r.Value(&node->value)) return Malformed("bad branch value");
      const uint16_t bitmap = static_cast<uint16_t>((hi << 8) | lo);
      node->children.reserve(static_cast<size_t>(__builtin_popcount(bitmap)));
      for (int i = 0; i < 16; ++i) {
        if ((bitmap >> i) & 1) {
          Hash256 h;
          if (!r.Hash(&h) || IsZero(h)) return Malformed("bad branch child");
          node->children.mut(i).ref = NodeRef::Hash(h);
        }
      }
    } else {
      return Malformed("unknown node tag");
    }
    if (!r.done()) return Malformed("trailing bytes");
    const NodeRef actual = ComputeRef(*node, false, nullptr);
    if (!(actual == expected)) {
      return Status::Corruption("node hash mismatch: stored node does not match its parent's hash");
    }
    node->dirty = false;
    return node;
  }

  std::vector<Bytes> BuildProof(const std::vector<ProofVisit>& visits,
                                const Nibbles& key) const override {
    std::vector<Bytes> items;
    for (const ProofVisit& visit : visits) {
      const Node& node = *visit.node;
      const size_t depth = visit.depth;
      std::string item;
      if (node.is_leaf()) {
        const bool found = key.size() - depth == node.path.size() && Matches(key, depth, node.path);
        item.push_back(static_cast<char>(found ? kEndLeaf : kEndOtherLeaf));
        AppendPath(node.path.data(), node.path.size(), &item);
        if (found) {
          PutVarint64(&item, node.value.size());
          item.append(AsChars(node.value));
        } else {
          const Hash256 vh = ValueHash(node.value);
          item.append(AsChars(vh));
        }
      } else if (node.is_extension()) {
        const bool follows = Matches(key, depth, node.path);
        item.push_back(static_cast<char>(follows ? kStepExtension : kEndOtherExtension));
        AppendPath(node.path.data(), node.path.size(), &item);
        if (!follows) item.append(AsChars(node.children[0].ref.view()));
      } else if (depth == key.size()) {
        item.push_back(static_cast<char>(kEndBranch));
        item.push_back(node.value.empty() ? 0 : 1);
        if (!node.value.empty()) {
          PutVarint64(&item, node.value.size());
          item.append(AsChars(node.value));
        }
        SlotTree tree;
        tree.Of(node);
        item.append(AsChars(tree.up.root));
      } else {
        item.push_back(static_cast<char>(kStepBranch));
        item.push_back(node.value.empty() ? 0 : 1);
        if (!node.value.empty()) {
          const Hash256 vh = ValueHash(node.value);
          item.append(AsChars(vh));
        }
        Hash256 siblings[4];
        SlotTree tree;
        tree.Of(node);
        tree.Siblings(key[depth], siblings);
        uint8_t mask = 0;
        for (int i = 0; i < 4; ++i) {
          if (!IsZero(siblings[i])) mask |= static_cast<uint8_t>(1u << i);
        }
        item.push_back(static_cast<char>(mask));
        for (int i = 0; i < 4; ++i) {
          if (!IsZero(siblings[i])) item.append(AsChars(siblings[i]));
        }
      }
      items.emplace_back(item.begin(), item.end());
    }
    return items;
  }

  Result<std::optional<Bytes>> VerifyProof(const Hash256& root, const Nibbles& key,
                                           const std::vector<Bytes>& items) const override {
    if (items.empty()) {
      if (IsZero(root)) return std::optional<Bytes>();
      return BadProof("empty proof for a non-empty root");
    }
    // Forward pass: parse every item and check it against the key.
    struct Step {
      uint8_t tag = 0;
      size_t depth = 0;
      Nibbles path;
      Hash256 value_hash{};  // branch value commitment / other leaf's value hash
      Hash256 siblings[4] = {};
      Hash256 child{};  // other extension's child; branch end's children root
      Bytes value;
    };
    std::vector<Step> steps(items.size());
    size_t depth = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      Reader r(items[i]);
      Step& s = steps[i];
      s.depth = depth;
      const bool last = i + 1 == items.size();
      const std::string where = "item " + std::to_string(i);
      if (!r.Byte(&s.tag)) return BadProof(where + " is empty");
      switch (s.tag) {
        case kStepBranch: {
          uint8_t has_value = 0, mask = 0;
          if (!r.Byte(&has_value) || has_value > 1) return BadProof(where + ": bad flags");
          if (has_value == 1 && (!r.Hash(&s.value_hash) || IsZero(s.value_hash))) {
            return BadProof(where + ": bad value commitment");
          }
          if (!r.Byte(&mask) || mask > 0x0f) return BadProof(where + ": bad sibling mask");
          for (int b = 0; b < 4; ++b) {
            if (((mask >> b) & 1) && (!r.Hash(&s.siblings[b]) || IsZero(s.siblings[b]))) {
              return BadProof(where + ": bad sibling");
            }
          }
          if (depth >= key.size()) return BadProof(where + ": branch step past the key's end");
          ++depth;
          break;
        }
        case kStepExtension:
          if (!r.Path(&s.path) || s.path.empty()) return BadProof(where + ": bad path");
          if (!Matches(key, depth, s.path)) {
            return BadProof(where + ": extension step does not follow the key");
          }
          if (last) return BadProof(where + ": proof ends at an extension");
          depth += s.path.size();
          break;
        case kEndLeaf:
          if (!r.Path(&s.path) || !r.Value(&s.value)) return BadProof(where + ": bad leaf");
          if (key.size() - depth != s.path.size() || !Matches(key, depth, s.path)) {
            return BadProof(where + ": leaf is not the key's");
          }
          break;
        case kEndOtherLeaf:
          if (!r.Path(&s.path) || !r.Hash(&s.value_hash)) return BadProof(where + ": bad leaf");
          if (key.size() - depth == s.path.size() && Matches(key, depth, s.path)) {
            return BadProof(where + ": 'other leaf' is the key's own leaf");
          }
          break;
        case kEndOtherExtension:
          if (!r.Path(&s.path) || s.path.empty() || !r.Hash(&s.child) || IsZero(s.child)) {
            return BadProof(where + ": bad extension");
          }
          if (Matches(key, depth, s.path)) {
            return BadProof(where + ": 'other extension' follows the key");
          }
          break;
        case kEndBranch: {
          uint8_t has_value = 0;
          if (!r.Byte(&has_value) || has_value > 1) return BadProof(where + ": bad flags");
          if (has_value == 1 && !r.Value(&s.value)) return BadProof(where + ": bad value");
          if (!r.Hash(&s.child)) return BadProof(where + ": bad children root");
          if (depth != key.size()) return BadProof(where + ": branch end before the key's end");
          break;
        }
        default:
          return BadProof(where + ": unknown tag");
      }
      if (!r.done()) return BadProof(where + ": trailing bytes");
      const bool is_end = s.tag == kEndLeaf || s.tag == kEndOtherLeaf ||
                          s.tag == kEndOtherExtension || s.tag == kEndBranch;
      if (is_end && !last) return BadProof(where + ": end item before the last item");
    }

    // Backward pass: hash from the end of the walk up to the root.
    const Step& end = steps.back();
    Hash256 h = kZero;  // a branch step last means the key's slot is empty
    std::optional<Bytes> result;
    size_t first_step = steps.size();
    switch (end.tag) {
      case kEndLeaf:
        h = LeafHash(end.path.data(), end.path.size(), ValueHash(end.value));
        result = end.value;
        first_step = steps.size() - 1;
        break;
      case kEndOtherLeaf:
        h = LeafHash(end.path.data(), end.path.size(), end.value_hash);
        first_step = steps.size() - 1;
        break;
      case kEndOtherExtension:
        h = ExtensionHash(end.path.data(), end.path.size(), end.child);
        first_step = steps.size() - 1;
        break;
      case kEndBranch: {
        const Hash256 v = end.value.empty() ? kZero : ValueHash(end.value);
        h = BranchHash(v, end.child);
        if (!end.value.empty()) result = end.value;
        first_step = steps.size() - 1;
        break;
      }
      default:
        break;  // kStepBranch: slot empty, h stays zero
    }
    for (size_t i = first_step; i-- > 0;) {
      const Step& s = steps[i];
      if (s.tag == kStepBranch) {
        const Hash256 children_root = FoldSiblings(key[s.depth], h, s.siblings);
        h = BranchHash(s.value_hash, children_root);
      } else {
        h = ExtensionHash(s.path.data(), s.path.size(), h);
      }
    }
    if (h != root) return BadProof("computed root does not match");
    return result;
  }
};

}  // namespace

const Scheme& NativeScheme() {
  static const NativeSchemeImpl* const scheme = new NativeSchemeImpl();
  return *scheme;
}

}  // namespace vellum::trie
