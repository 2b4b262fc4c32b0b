// Copyright (c) Vellum authors.
//
// vellum-node's client API (docs/api.md): the HTTP handlers. Handlers run on the HTTPS
// server's I/O threads and never block: anything that touches the Raft core is posted
// to the event loop, and the answer is sent from there once the write is applied or
// the read barrier confirmed. Stale reads and reads at a fixed version go straight to
// the ledger (DB is thread-safe; a version, once it exists, never changes).

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "node/checkpoint_archive.h"
#include "node/node_server_impl.h"

namespace vellum::node {

namespace {

using http::ErrorResponse;
using http::Request;
using http::Responder;
using http::Response;
using Json = nlohmann::ordered_json;

constexpr size_t kMaxTxnOps = 10000;

Response JsonResponse(const Json& body, int status = 200) {
  Response r;
  r.status = status;
  try {
    r.body = body.dump();
  } catch (const nlohmann::json::type_error&) {
    return ErrorResponse(400, "InvalidArgument",
                         "a key or value is not UTF-8 text and cannot be shown as a JSON "
                         "string; ask again with ?encoding=hex");
  }
  r.body.push_back('\n');
  return r;
}

bool Contains(const std::vector<uint64_t>& ids, uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

Response LedgerBeingReplaced() {
  return ErrorResponse(Status::Unavailable(
      "this node is installing a snapshot of the leader's ledger; retry, or use another "
      "member"));
}

// The node id in a member's certificate CN ("node-<id>"), or 0.
uint64_t NodeIdFromCommonName(std::string_view cn) {
  constexpr std::string_view kPrefix = "node-";
  if (!cn.starts_with(kPrefix)) return 0;
  cn.remove_prefix(kPrefix.size());
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(cn.data(), cn.data() + cn.size(), id);
  if (cn.empty() || ec != std::errc() || end != cn.data() + cn.size()) return 0;
  return id;
}

Response ShuttingDown() {
  return ErrorResponse(Status::Unavailable("this node is shutting down; use another member"));
}

Result<uint64_t> ParseUint(std::string_view text, std::string_view what) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument(std::string(what) + " must be a non-negative integer, got '" +
                                   std::string(text) + "'");
  }
  return v;
}

// "utf8" (the default) shows keys and values as JSON strings, "hex" as hex digits.
Result<bool> HexEncoding(const Request& req) {
  auto it = req.query.find("encoding");
  if (it == req.query.end() || it->second == "utf8") return false;
  if (it->second == "hex") return true;
  return Status::InvalidArgument("encoding must be 'utf8' or 'hex', got '" + it->second + "'");
}

Json DataJson(std::string_view data, bool hex) {
  return hex ? Json(HexEncode(AsBytes(data))) : Json(std::string(data));
}

Json WriteResultJson(const WriteResult& w) {
  Json j;
  j["version"] = w.version;
  j["state_root"] = HexEncode(w.state_root);
  j["raft_index"] = w.raft_index;
  return j;
}

// A txn op's key or value: text, or hex digits with "encoding":"hex".
Result<std::string> TxnBytes(const Json& op, const char* field, bool hex, size_t index) {
  auto it = op.find(field);
  if (it == op.end() || !it->is_string()) {
    return Status::InvalidArgument("ops[" + std::to_string(index) + "]." + field +
                                   " must be a string");
  }
  const std::string& text = it->get_ref<const std::string&>();
  if (!hex) return text;
  Result<Bytes> bytes = HexDecode(text);
  if (!bytes.ok()) {
    return Status::InvalidArgument("ops[" + std::to_string(index) + "]." + field +
                                   " is not hex digits");
  }
  return std::string(AsChars(*bytes));
}

Result<WriteBatch> ParseTxn(std::string_view body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return Status::InvalidArgument("the body must be a JSON object {\"ops\": [...]}");
  }
  bool hex = false;
  for (const auto& [name, value] : j.items()) {
    if (name == "encoding") {
      if (!value.is_string() || (value != "utf8" && value != "hex")) {
        return Status::InvalidArgument("encoding must be \"utf8\" or \"hex\"");
      }
      hex = value == "hex";
    } else if (name != "ops") {
      return Status::InvalidArgument("unknown field '" + name + "' (expected ops, encoding)");
    }
  }
  auto ops = j.find("ops");
  if (ops == j.end() || !ops->is_array() || ops->empty()) {
    return Status::InvalidArgument("ops must be a non-empty array");
  }
  if (ops->size() > kMaxTxnOps) {
    return Status::InvalidArgument("a transaction holds at most " + std::to_string(kMaxTxnOps) +
                                   " operations");
  }
  WriteBatch batch;
  for (size_t i = 0; i < ops->size(); ++i) {
    const Json& op = (*ops)[i];
    const std::string where = "ops[" + std::to_string(i) + "]";
    if (!op.is_object() || !op.contains("op") || !op["op"].is_string() || !op.contains("table") ||
        !op["table"].is_string()) {
      return Status::InvalidArgument(where + " must be an object with string fields op, table");
    }
    const std::string& kind = op["op"].get_ref<const std::string&>();
    const std::string& table = op["table"].get_ref<const std::string&>();
    if (kind == "put") {
      VELLUM_ASSIGN_OR_RETURN(std::string key, TxnBytes(op, "key", hex, i));
      VELLUM_ASSIGN_OR_RETURN(std::string value, TxnBytes(op, "value", hex, i));
      batch.Put(table, key, value);
    } else if (kind == "delete") {
      VELLUM_ASSIGN_OR_RETURN(std::string key, TxnBytes(op, "key", hex, i));
      batch.Delete(table, key);
    } else if (kind == "create_table") {
      batch.CreateTable(table);
    } else if (kind == "drop_table") {
      batch.DropTable(table);
    } else {
      return Status::InvalidArgument(where + ".op must be put, delete, create_table or " +
                                     "drop_table, got '" + kind + "'");
    }
  }
  return batch;
}

}  // namespace

http::Router NodeServer::Impl::MakeRouter() {
  http::Router router;

  // Proposes `batch` from the loop; answers once it is applied here.
  auto submit_write = [this](WriteBatch batch, Responder respond) {
    const bool posted = Post([this, batch = std::move(batch), respond]() {
      Status s = ledger->Propose(batch, [respond](Result<WriteResult> written) {
        respond(written.ok() ? JsonResponse(WriteResultJson(*written))
                             : ErrorResponse(written.status()));
      });
      if (!s.ok()) respond(ErrorResponse(s));
    });
    if (!posted) respond(ShuttingDown());
  };

  // Where a request the leader must handle goes: a 307 to the leader's client URL,
  // or 503 when no leader is known.
  auto redirect_to_leader = [this](const Request& req, Responder respond) {
    const NodeStatusSnapshot st = Snapshot();
    std::optional<MemberRecord> leader = st.leader == 0 ? std::nullopt : membership->Get(st.leader);
    if (!leader.has_value() || leader->client_url.empty()) {
      respond(ErrorResponse(Status::Unavailable("no leader is known; retry later")));
      return;
    }
    Response r =
        ErrorResponse(307, "Redirect", "node " + std::to_string(st.leader) + " is the leader");
    r.headers.emplace_back("Location", leader->client_url + req.target);
    respond(std::move(r));
  };

  // Reads `table`/`key` as `req` asks (version, proof); runs on any thread.
  auto read_key = [this](const Request& req) -> Response {
    const std::shared_ptr<DB> db = LedgerDb();
    if (db == nullptr) return LedgerBeingReplaced();
    ReadOptions ro;
    if (auto at = req.query.find("at"); at != req.query.end()) {
      Result<uint64_t> v = ParseUint(at->second, "at");
      if (!v.ok()) return ErrorResponse(v.status());
      ro.version = *v;
    } else {
      const uint64_t latest = db->Latest().version;
      if (latest == 0) return ErrorResponse(Status::NotFound("the ledger is empty"));
      ro.version = latest;
    }
    const std::string& table = req.params.at("table");
    const std::string& key = req.params.at("key");
    auto proof = req.query.find("proof");
    if (proof != req.query.end() && proof->second != "false") {
      if (proof->second != "true") {
        return ErrorResponse(Status::InvalidArgument("proof must be true or false"));
      }
      Result<LedgerProof> p = db->GetWithProof(ro, table, key);
      if (!p.ok()) return ErrorResponse(p.status());
      Response r;
      r.body = p->ToJson();
      r.body.push_back('\n');
      return r;
    }
    Result<std::optional<std::string>> value = db->Get(ro, table, key);
    if (!value.ok()) return ErrorResponse(value.status());
    if (!value->has_value()) {
      return ErrorResponse(Status::NotFound("key not found in table '" + table + "' at version " +
                                            std::to_string(*ro.version)));
    }
    Response r;
    r.content_type = "application/octet-stream";
    r.body = std::move(**value);
    r.headers.emplace_back("X-Vellum-Version", std::to_string(*ro.version));
    return r;
  };

  router.Add("PUT", "/v1/kv/{table}/{key}", [submit_write](Request req, Responder respond) {
    WriteBatch batch;
    batch.Put(req.params.at("table"), req.params.at("key"), req.body);
    submit_write(std::move(batch), std::move(respond));
  });

  router.Add("DELETE", "/v1/kv/{table}/{key}", [submit_write](Request req, Responder respond) {
    WriteBatch batch;
    batch.Delete(req.params.at("table"), req.params.at("key"));
    submit_write(std::move(batch), std::move(respond));
  });

  router.Add("POST", "/v1/txn", [submit_write](Request req, Responder respond) {
    Result<WriteBatch> batch = ParseTxn(req.body);
    if (!batch.ok()) {
      respond(ErrorResponse(batch.status()));
      return;
    }
    submit_write(std::move(batch).value(), std::move(respond));
  });

  router.Add("GET", "/v1/kv/{table}/{key}", [this, read_key](Request req, Responder respond) {
    std::string consistency = "linearizable";
    if (auto c = req.query.find("consistency"); c != req.query.end()) consistency = c->second;
    if (consistency != "linearizable" && consistency != "stale") {
      respond(
          ErrorResponse(Status::InvalidArgument("consistency must be 'linearizable' or 'stale'")));
      return;
    }
    // A fixed version never changes, and a stale read accepts this node's state.
    if (consistency == "stale" || req.query.count("at") != 0) {
      respond(read_key(req));
      return;
    }
    const bool posted = Post([this, read_key, req, respond]() {
      Status s = ledger->ReadBarrier([read_key, req, respond](const vellum::Status& confirmed) {
        respond(confirmed.ok() ? read_key(req) : ErrorResponse(confirmed));
      });
      if (!s.ok()) respond(ErrorResponse(s));
    });
    if (!posted) respond(ShuttingDown());
  });

  router.Add("GET", "/v1/history/{table}/{key}", [this](Request req, Responder respond) {
    Result<bool> hex = HexEncoding(req);
    size_t limit = 0;
    if (auto l = req.query.find("limit"); l != req.query.end()) {
      Result<uint64_t> v = ParseUint(l->second, "limit");
      if (!v.ok()) {
        respond(ErrorResponse(v.status()));
        return;
      }
      limit = static_cast<size_t>(*v);
    }
    if (!hex.ok()) {
      respond(ErrorResponse(hex.status()));
      return;
    }
    const std::string& table = req.params.at("table");
    const std::string& key = req.params.at("key");
    const std::shared_ptr<DB> db = LedgerDb();
    if (db == nullptr) {
      respond(LedgerBeingReplaced());
      return;
    }
    Result<std::vector<HistoryEntry>> history = db->History(table, key, limit);
    if (!history.ok()) {
      respond(ErrorResponse(history.status()));
      return;
    }
    Json j;
    j["table"] = table;
    j["key"] = DataJson(key, *hex);
    Json changes = Json::array();
    for (const HistoryEntry& e : *history) {
      Json c;
      c["version"] = e.version;
      c["value"] = e.value.has_value() ? DataJson(*e.value, *hex) : Json(nullptr);
      c["verified"] = e.verified;
      changes.push_back(std::move(c));
    }
    j["history"] = std::move(changes);
    respond(JsonResponse(j));
  });

  router.Add("GET", "/v1/digest", [this](Request, Responder respond) {
    const std::shared_ptr<DB> db = LedgerDb();
    if (db == nullptr) {
      respond(LedgerBeingReplaced());
      return;
    }
    Result<Digest> digest = db->GetDigest();
    if (!digest.ok()) {
      respond(ErrorResponse(digest.status()));
      return;
    }
    Response r;
    r.body = digest->ToJson();
    r.body.push_back('\n');
    respond(std::move(r));
  });

  router.Add("GET", "/v1/status", [this](Request, Responder respond) {
    const NodeStatusSnapshot st = Snapshot();
    Json j;
    j["node_id"] = st.node_id;
    j["role"] = st.role;
    j["term"] = st.term;
    j["leader"] = st.leader;
    std::optional<MemberRecord> leader = st.leader == 0 ? std::nullopt : membership->Get(st.leader);
    j["leader_url"] = leader.has_value() ? Json(leader->client_url) : Json(nullptr);
    j["commit_index"] = st.commit_index;
    j["applied_index"] = st.applied_index;
    j["applied_version"] = st.applied_version;
    j["state_root"] = HexEncode(st.state_root);
    j["voters"] = st.voters;
    j["learners"] = st.learners;
    j["alarm"] = st.alarm.empty() ? Json(nullptr) : Json(st.alarm);
    respond(JsonResponse(j));
  });

  router.Add("GET", "/healthz", [this](Request, Responder respond) {
    const NodeStatusSnapshot st = Snapshot();
    Json j;
    if (!st.alarm.empty()) {
      j["status"] = "alarm";
      j["reason"] = st.alarm;
      respond(JsonResponse(j, 503));
      return;
    }
    if (st.leader == 0) {
      j["status"] = "no_leader";
      j["reason"] = "no leader is known: an election is under way or there is no quorum";
      respond(JsonResponse(j, 503));
      return;
    }
    j["status"] = "ok";
    j["role"] = st.role;
    j["leader"] = st.leader;
    respond(JsonResponse(j));
  });

  router.Add("GET", "/v1/members", [this](Request, Responder respond) {
    const NodeStatusSnapshot st = Snapshot();
    Json members = Json::array();
    for (const auto& [id, record] : membership->Members()) {
      Json m;
      m["id"] = id;
      const bool voter = Contains(st.voters, id);
      const bool learner = Contains(st.learners, id);
      m["role"] = voter ? "voter" : learner ? "learner" : "unknown";
      m["peer_address"] = record.peer_address;
      m["client_url"] = record.client_url;
      m["signing_public_key"] = HexEncode(record.signing_public_key);
      members.push_back(std::move(m));
    }
    Json j;
    j["members"] = std::move(members);
    respond(JsonResponse(j));
  });

  // Proposes a membership change from the loop; answers `answer` once it is applied.
  // Adding a member twice is AlreadyExists, removing a stranger NotFound.
  auto propose_member_change = [this](raft::ConfChange change, Json answer, Responder respond) {
    const bool posted = Post([this, change, answer, respond]() {
      const raft::ConfState conf = ledger->status().conf_state;
      const bool member =
          Contains(conf.voters, change.node_id) || Contains(conf.learners, change.node_id);
      const std::string who = "node " + std::to_string(change.node_id);
      if (change.type == raft::ConfChangeType::kRemoveNode && !member) {
        respond(ErrorResponse(Status::NotFound(who + " is not a member")));
        return;
      }
      if (change.type == raft::ConfChangeType::kAddLearner && member) {
        respond(ErrorResponse(Status::AlreadyExists(who + " is already a member")));
        return;
      }
      Status s = ledger->ProposeConfChange(change, [answer, respond](const vellum::Status& done) {
        respond(done.ok() ? JsonResponse(answer) : ErrorResponse(done));
      });
      if (!s.ok()) respond(ErrorResponse(s));
    });
    if (!posted) respond(ShuttingDown());
  };

  router.Add(
      "POST", "/v1/members",
      [this, redirect_to_leader, propose_member_change](Request req, Responder respond) {
        Json j = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
        if (!j.is_object() || !j.contains("id") || !j["id"].is_number_unsigned() ||
            j["id"].get<uint64_t>() == 0) {
          respond(ErrorResponse(Status::InvalidArgument(
              "the body must be {\"id\": N, \"peer_address\": \"host:port\", \"client_url\": "
              "\"https://host:port\", \"signing_public_key\": \"<64 hex>\"} with N > 0")));
          return;
        }
        const uint64_t id = j["id"].get<uint64_t>();
        j.erase("id");
        Result<MemberRecord> record = DecodeMemberRecord(j.dump());
        if (!record.ok()) {
          respond(ErrorResponse(record.status()));
          return;
        }
        if (Snapshot().role != "leader") {
          redirect_to_leader(req, std::move(respond));
          return;
        }
        Json answer;
        answer["id"] = id;
        answer["role"] = "learner";
        answer["note"] = "promoted to voter automatically once it has caught up";
        propose_member_change(raft::ConfChange{raft::ConfChangeType::kAddLearner, id,
                                               ToBytes(EncodeMemberRecord(*record))},
                              std::move(answer), std::move(respond));
      });

  router.Add("DELETE", "/v1/members/{id}",
             [this, redirect_to_leader, propose_member_change](Request req, Responder respond) {
               Result<uint64_t> id = ParseUint(req.params.at("id"), "the member id");
               if (!id.ok()) {
                 respond(ErrorResponse(id.status()));
                 return;
               }
               if (Snapshot().role != "leader") {
                 redirect_to_leader(req, std::move(respond));
                 return;
               }
               Json answer;
               answer["id"] = *id;
               answer["removed"] = true;
               propose_member_change(raft::ConfChange{raft::ConfChangeType::kRemoveNode, *id, {}},
                                     std::move(answer), std::move(respond));
             });

  // The internal endpoint a follower fetches this node's ledger from when it needs a
  // snapshot (docs/api.md, "Internal endpoints"): members only, by certificate.
  router.Add("GET", "/internal/v1/snapshot", [this](Request req, Responder respond) {
    const uint64_t peer = NodeIdFromCommonName(req.client_common_name);
    if (peer == 0 || !membership->Get(peer).has_value()) {
      respond(ErrorResponse(Status::PermissionDenied(
          "the snapshot endpoint serves cluster members only (a node certificate of a "
          "current member)")));
      return;
    }
    std::lock_guard lock(snapshot_serve_mu);
    if (snapshot_serving) {
      respond(ErrorResponse(Status::Unavailable("a snapshot is being prepared; retry later")));
      return;
    }
    // Checkpointing and packing read the whole ledger: off the I/O threads, one at a
    // time. The previous worker has finished (snapshot_serving is false).
    if (snapshot_worker.joinable()) snapshot_worker.join();
    snapshot_serving = true;
    const std::string dir = config.data_dir + "/snapshot-out." + std::to_string(++snapshot_serial);
    snapshot_worker = std::thread([this, dir, peer, respond] {
      Response r = ServeSnapshot(dir, peer);
      {
        std::lock_guard done(snapshot_serve_mu);
        snapshot_serving = false;
      }
      respond(std::move(r));
    });
  });

  return router;
}

Response NodeServer::Impl::ServeSnapshot(const std::string& dir, uint64_t peer) {
  Env* env = Env::Default();
  const std::shared_ptr<DB> db = LedgerDb();
  if (db == nullptr) return LedgerBeingReplaced();
  Response r;
  r.content_type = "application/octet-stream";
  const CommitInfo latest = db->Latest();
  Status s = RemoveDirTree(env, dir);
  if (s.ok()) s = db->Checkpoint(dir);
  if (s.ok()) {
    s = PackCheckpoint(env, dir, [&](std::string_view piece) {
      if (r.body.size() + piece.size() > config.snapshot_max_bytes) {
        return Status::ResourceExhausted("the ledger checkpoint is over raft.snapshot_max_bytes");
      }
      r.body.append(piece);
      return Status::OK();
    });
  }
  RemoveDirTree(env, dir).IgnoreError();
  if (!s.ok()) {
    log->Event("snapshot_serve_failed", {{"peer", std::to_string(peer)}, {"reason", s.ToString()}});
    return ErrorResponse(s);
  }
  // The checkpoint may be newer than this; the follower checks the one it receives.
  r.headers.emplace_back("X-Vellum-Version", std::to_string(latest.version));
  log->Event("snapshot_served",
             {{"peer", std::to_string(peer)}, {"bytes", std::to_string(r.body.size())}});
  return r;
}

}  // namespace vellum::node
