// Copyright (c) Vellum authors.
//
// The in-memory form of trie nodes, shared by the trie algorithm and the node
// schemes. Not a public header.
//
// A node that has been committed (hashed and, unless inlined, stored) is immutable
// and may be shared by readers and by later versions. A batch works on "dirty"
// copies: the path from the root to each changed key is copied on first change, and
// dirty nodes are mutated in place until the batch is hashed.

#ifndef VELLUM_TRIE_NODE_H_
#define VELLUM_TRIE_NODE_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "trie/nibbles.h"

namespace vellum::trie {

// How a parent refers to a child: a 32-byte hash, or (kEthereum only) the child's
// whole encoding when it is shorter than 32 bytes. size == 0 means "no child".
struct NodeRef {
  uint8_t size = 0;
  std::array<uint8_t, 32> bytes{};

  static NodeRef Hash(const crypto::Hash256& h) {
    NodeRef r;
    r.size = 32;
    r.bytes = h;
    return r;
  }
  static NodeRef Inline(ByteView encoding);  // encoding.size() < 32

  bool empty() const { return size == 0; }
  bool is_hash() const { return size == 32; }
  bool is_inline() const { return size > 0 && size < 32; }
  ByteView view() const { return {bytes.data(), size}; }
  crypto::Hash256 hash() const { return bytes; }  // meaningful when is_hash()

  friend bool operator==(const NodeRef& a, const NodeRef& b) {
    return a.size == b.size && std::memcmp(a.bytes.data(), b.bytes.data(), a.size) == 0;
  }
};

struct Node;

// A child slot. `ref` is always set for a committed child. `node` is set for a dirty
// child, for an inline child (which has no storage of its own), and for a child a
// batch has loaded; readers never set it on shared nodes.
struct ChildRef {
  NodeRef ref;
  uint64_t version = 0;  // the version the child is stored under (hash refs only)
  std::shared_ptr<Node> node;

  bool empty() const { return ref.empty() && node == nullptr; }
};

// A node's child slots (16 for a branch, 1 for an extension, none for a leaf), held
// sparsely: only slots that have been written take memory. Most branches below the
// top levels have 2 or 3 children, and the node cache holds hundreds of thousands of
// them, so 16 ChildRefs (1 KiB) each would be most of its memory.
//
// Reading a slot never changes the array (an unwritten slot reads as empty), so
// readers may share a node. mut(i) makes slot i writable; it may move the other
// slots, so a reference from mut() is invalidated by mut() of another, unwritten slot.
class ChildArray {
 public:
  size_t size() const { return size_; }
  // Sets the number of slots (all empty).
  void reset(size_t slots) {
    size_ = static_cast<uint8_t>(slots);
    mask_ = 0;
    changed_ = 0xffff;
    items_.clear();
  }

  const ChildRef& operator[](size_t i) const {
    if (((mask_ >> i) & 1) == 0) return Empty();
    return items_[Index(i)];
  }
  ChildRef& mut(size_t i) {
    const size_t index = Index(i);
    changed_ = static_cast<uint16_t>(changed_ | (1u << i));
    if (((mask_ >> i) & 1) == 0) {
      items_.insert(items_.begin() + static_cast<ptrdiff_t>(index), ChildRef());
      mask_ = static_cast<uint16_t>(mask_ | (1u << i));
    }
    return items_[index];
  }
  size_t MemoryUsage() const { return items_.capacity() * sizeof(ChildRef); }
  // Room for `n` written slots, so that writing them does not reallocate (a decoded
  // node knows its slots up front, and the cache holds it at that capacity).
  void reserve(size_t n) { items_.reserve(n); }
  // The written slots (bit i: slot i); a written slot may still be empty.
  uint16_t written() const { return mask_; }

  // Bit i: slot i may have changed since the last ClearChanged (every mut(i) sets it;
  // reset sets all). A scheme's memo of hashes over the slots is valid for the slots
  // whose bit is clear, so a copied node rehashes only what the batch touched.
  uint16_t changed() const { return changed_; }
  // Only for a node that may still be written (dirty or being decoded), right after
  // its memo was computed from the current slots, or after changing only versions.
  void ClearChanged() const { changed_ = 0; }

  // Every slot in order, unwritten ones as empty ChildRefs.
  class const_iterator {
   public:
    const_iterator(const ChildArray* a, size_t i) : a_(a), i_(i) {}
    const ChildRef& operator*() const { return (*a_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }

   private:
    const ChildArray* a_;
    size_t i_;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size_}; }

 private:
  static const ChildRef& Empty() {
    static const ChildRef* const empty = new ChildRef();
    return *empty;
  }
  size_t Index(size_t i) const {
    return PopCount16(static_cast<uint16_t>(mask_ & ((1u << i) - 1)));
  }
  // Without a target flag for the popcnt instruction, __builtin_popcount is a libgcc
  // call; this is on every child access.
  static size_t PopCount16(uint16_t v) {
    static constexpr uint8_t kBits[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
    return static_cast<size_t>(kBits[v & 15] + kBits[(v >> 4) & 15] + kBits[(v >> 8) & 15] +
                               kBits[v >> 12]);
  }

  std::vector<ChildRef> items_;   // the written slots, in slot order
  uint16_t mask_ = 0;             // bit i: slot i is written
  mutable uint16_t changed_ = 0;  // see changed()
  uint8_t size_ = 0;
};

struct Node {
  enum class Kind : uint8_t { kLeaf = 0, kExtension = 1, kBranch = 2 };

  Kind kind = Kind::kLeaf;
  Nibbles path;  // leaf and extension: the key fragment this node consumes
  Bytes value;   // leaf: the value; branch: the value of a key ending here (may be empty)
  // Branch: 16 slots; extension: 1 slot; leaf: none.
  ChildArray children;

  // A scheme's memo of intermediate hashes (native: the upper levels of the branch's
  // binary slot tree), so that rehashing a branch after one child changed recomputes
  // one path, not all 15 pairs. It holds for the slots whose ChildArray::changed() bit
  // is clear, so a copied node may carry its original's. Written only while the node
  // is dirty (owned by one batch) or freshly decoded; read-only once the node is shared.
  mutable std::shared_ptr<const void> memo;
  mutable size_t memo_bytes = 0;

  // True while the node belongs to an unhashed batch.
  bool dirty = true;
  // False for a leaf decoded from its parent's record and not yet checked against
  // the hash its parent holds (the trie checks it on each use). Set at construction.
  bool verified = true;
  // The version the node is stored under, once committed (0 for inline nodes).
  uint64_t stored_version = 0;

  static std::shared_ptr<Node> MakeLeaf(Nibbles path, Bytes value) {
    auto n = std::make_shared<Node>();
    n->kind = Kind::kLeaf;
    n->path = std::move(path);
    n->value = std::move(value);
    return n;
  }
  static std::shared_ptr<Node> MakeExtension(Nibbles path, ChildRef child) {
    auto n = std::make_shared<Node>();
    n->kind = Kind::kExtension;
    n->path = std::move(path);
    n->children.reset(1);
    n->children.mut(0) = std::move(child);
    return n;
  }
  static std::shared_ptr<Node> MakeBranch() {
    auto n = std::make_shared<Node>();
    n->kind = Kind::kBranch;
    n->children.reset(16);
    return n;
  }

  bool is_leaf() const { return kind == Kind::kLeaf; }
  bool is_extension() const { return kind == Kind::kExtension; }
  bool is_branch() const { return kind == Kind::kBranch; }

  // Approximate bytes held, for the cache's accounting: with the children that live
  // inside this node's record (inline and embedded ones), which the cache holds with it.
  size_t MemoryUsage() const {
    size_t total =
        sizeof(Node) + path.capacity() + value.capacity() + children.MemoryUsage() + memo_bytes;
    for (const ChildRef& c : children) {
      if (c.node != nullptr && (!c.ref.is_hash() || c.version == 0)) {
        total += c.node->MemoryUsage();
      }
    }
    return total;
  }
};

inline NodeRef NodeRef::Inline(ByteView encoding) {
  NodeRef r;
  r.size = static_cast<uint8_t>(encoding.size());
  std::memcpy(r.bytes.data(), encoding.data(), encoding.size());
  return r;
}

}  // namespace vellum::trie

#endif  // VELLUM_TRIE_NODE_H_
