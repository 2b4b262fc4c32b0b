// Copyright (c) Vellum authors.
//
// WriteBatch: writes that commit together as one ledger version (DB::Write).
// Operations apply in order; for a key written twice, the last write wins. Table
// names are 1..255 bytes; keys and values are any bytes within the ledger's size
// limits (Options::max_key_size, max_value_size), checked at commit.
//
// Thread safety: not thread-safe; one batch is filled by one thread.

#ifndef VELLUM_WRITE_BATCH_H_
#define VELLUM_WRITE_BATCH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vellum {

class WriteBatch {
 public:
  enum class OpKind : uint8_t { kPut = 1, kDelete = 2, kCreateTable = 3, kDropTable = 4 };
  struct Op {
    OpKind kind;
    std::string table;
    std::string key;
    std::string value;
  };

  void Put(std::string_view table, std::string_view key, std::string_view value);
  // Deleting an absent key is allowed and changes nothing.
  void Delete(std::string_view table, std::string_view key);
  // Creating a table that exists, or dropping one that does not, fails the commit
  // (AlreadyExists / NotFound). A dropped table's data stays readable at the versions
  // before the drop.
  void CreateTable(std::string_view table);
  void DropTable(std::string_view table);

  void Clear() { ops_.clear(); }
  size_t Count() const { return ops_.size(); }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

}  // namespace vellum

#endif  // VELLUM_WRITE_BATCH_H_
