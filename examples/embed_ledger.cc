// Copyright (c) Vellum authors.
//
// Embedding Vellum: a program that links vellum::db and uses only the public headers
// in include/vellum/. It creates a ledger, commits a batch and a transaction, reads a
// value back with a proof and checks that proof the way a client with no database
// would (against a signed digest's state root), looks at a key's history and the
// log, and audits the ledger. Every step that fails ends the program with exit 1.
//
//   vellum_example_embed [DIR]
//
// DIR (default: a new temporary directory, removed at the end) receives the ledger
// and its master key file.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "vellum/db.h"
#include "vellum/digest.h"
#include "vellum/keys.h"
#include "vellum/ledger_proof.h"
#include "vellum/options.h"
#include "vellum/write_batch.h"

namespace {

// Prints what failed and exits: an example keeps its error handling short.
void Check(const vellum::Status& status, const char* what) {
  if (status.ok()) return;
  std::cerr << "embed_ledger: " << what << ": " << status.ToString() << "\n";
  std::exit(1);
}

template <typename T>
T Take(vellum::Result<T> result, const char* what) {
  Check(result.status(), what);
  return std::move(result).value();
}

vellum::Status Run(const std::filesystem::path& dir) {
  const std::string key_file = (dir / "master.key").string();
  const std::string ledger_dir = (dir / "ledger").string();

  // 1. A master key (mode 0600, never overwritten) and a new ledger.
  Check(vellum::MasterKey::Generate().WriteFile(key_file), "writing the master key");
  vellum::Options options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  options.key_file = key_file;
  std::unique_ptr<vellum::DB> db;
  Check(vellum::DB::Open(options, ledger_dir, &db), "creating the ledger");

  // 2. A batch: create a table and fill it, committed as one version.
  vellum::WriteBatch batch;
  batch.CreateTable("accounts");
  batch.Put("accounts", "alice", "100");
  batch.Put("accounts", "bob", "50");
  vellum::CommitInfo first = Take(db->Write({}, batch), "committing the batch");
  std::cout << "version " << first.version << ", state root " << vellum::HashToHex(first.state_root)
            << "\n";

  // 3. A transaction: read-modify-write with optimistic concurrency.
  std::unique_ptr<vellum::Transaction> txn = db->BeginTransaction();
  std::optional<std::string> alice = Take(txn->Get("accounts", "alice"), "reading alice");
  std::optional<std::string> bob = Take(txn->Get("accounts", "bob"), "reading bob");
  if (!alice || !bob) return vellum::Status::Corruption("the batch's keys are missing");
  txn->Put("accounts", "alice", std::to_string(std::stoi(*alice) - 30));
  txn->Put("accounts", "bob", std::to_string(std::stoi(*bob) + 30));
  vellum::CommitInfo second = Take(txn->Commit(), "committing the transfer");
  std::cout << "transfer committed as version " << second.version << " (log entry "
            << second.log_index << ")\n";

  // 4. A verified read, and a proof a client checks with no database.
  std::optional<std::string> value = Take(db->Get({}, "accounts", "alice"), "reading alice");
  std::cout << "alice = " << value.value_or("(absent)") << "\n";
  vellum::Digest digest = Take(db->GetDigest(), "taking a digest");
  Check(vellum::VerifyDigestSignature(digest), "checking the digest's signature");
  vellum::LedgerProof proof = Take(db->GetWithProof({}, "accounts", "bob"), "proving bob");
  vellum::LedgerProof received =
      Take(vellum::LedgerProof::FromJson(proof.ToJson()), "reading the proof back from JSON");
  vellum::ProofCheck check =
      Take(vellum::VerifyLedgerProof(received, digest.state_root), "verifying the proof");
  std::cout << "proof: bob = " << check.value.value_or("(absent)") << " at version "
            << received.version << ", checked against the digest's state root\n";
  if (check.value != std::optional<std::string>("80")) {
    return vellum::Status::Corruption("the proof shows an unexpected value");
  }

  // 5. History and the log.
  for (const vellum::HistoryEntry& change :
       Take(db->History("accounts", "alice"), "reading alice's history")) {
    std::cout << "alice at version " << change.version << ": " << change.value.value_or("deleted")
              << "\n";
  }
  vellum::LogEntryInfo entry = Take(db->GetLogEntry(second.log_index), "reading the log");
  std::cout << "log entry " << entry.index << ": " << entry.payload_bytes
            << " encrypted payload bytes, hash " << vellum::HashToHex(entry.entry_hash) << "\n";
  std::vector<vellum::LogOp> ops = Take(db->DecryptLogEntry(entry.index, {}), "decrypting it");
  std::cout << "it holds " << ops.size() << " operations\n";

  // 6. A full audit.
  vellum::AuditReport report = Take(db->Verify(), "auditing the ledger");
  for (const vellum::AuditFinding& finding : report.findings) {
    std::cerr << finding.location << ": " << finding.problem << "\n";
  }
  if (!report.ok()) return vellum::Status::Corruption("the audit found problems");
  std::cout << "audit ok: " << report.log_entries << " log entries, " << report.keys << " keys\n";
  return db->Close();
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir;
  bool temporary = false;
  if (argc > 1) {
    dir = argv[1];
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
  } else {
    std::string pattern = (std::filesystem::temp_directory_path() / "vellum_embed_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("embed_ledger: mkdtemp");
      return 1;
    }
    dir = pattern;
    temporary = true;
  }
  const vellum::Status status = Run(dir);
  if (temporary) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  if (!status.ok()) {
    std::cerr << "embed_ledger: " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}
