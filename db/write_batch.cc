// Copyright (c) Vellum authors.

#include "vellum/write_batch.h"

namespace vellum {

void WriteBatch::Put(std::string_view table, std::string_view key, std::string_view value) {
  ops_.push_back(Op{OpKind::kPut, std::string(table), std::string(key), std::string(value)});
}

void WriteBatch::Delete(std::string_view table, std::string_view key) {
  ops_.push_back(Op{OpKind::kDelete, std::string(table), std::string(key), {}});
}

void WriteBatch::CreateTable(std::string_view table) {
  ops_.push_back(Op{OpKind::kCreateTable, std::string(table), {}, {}});
}

void WriteBatch::DropTable(std::string_view table) {
  ops_.push_back(Op{OpKind::kDropTable, std::string(table), {}, {}});
}

}  // namespace vellum
