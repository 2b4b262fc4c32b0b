// Copyright (c) Vellum authors.

#include "node/node_server.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "base/idle_poll.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/secure_bytes.h"
#include "crypto/signer.h"
#include "db/key_impl.h"  // the signing key pair, for the node's Signer
#include "node/checkpoint_archive.h"
#include "node/http/https_client.h"
#include "node/node_server_impl.h"
#include "vellum/check.h"
#include "vellum/env.h"
#include "vellum/keys.h"

namespace vellum::node {

namespace {

Result<crypto::SecureBytes> ReadSecretFile(const std::string& path, std::string_view what) {
  std::string text;
  Status s = ReadFileToString(Env::Default(), path, &text);
  if (!s.ok()) {
    crypto::SecureWipe(text.data(), text.size());
    return s.WithContext("reading the " + std::string(what) + " " + path);
  }
  crypto::SecureBytes secret = crypto::SecureBytes::CopyFrom(AsBytes(text));
  crypto::SecureWipe(text.data(), text.size());
  return secret;
}

Result<std::string> ReadPublicFile(const std::string& path, std::string_view what) {
  std::string text;
  VELLUM_RETURN_IF_ERROR(ReadFileToString(Env::Default(), path, &text)
                             .WithContext("reading the " + std::string(what) + " " + path));
  return text;
}

// The boot epoch: one more than the last start's, durable before it is used, so a
// restarted node never reuses a peer-message counter.
Result<uint64_t> NextBootEpoch(const std::string& data_dir) {
  Env* env = Env::Default();
  const std::string path = data_dir + "/boot_epoch";
  uint64_t last = 0;
  if (env->FileExists(path).ok()) {
    std::string text;
    VELLUM_RETURN_IF_ERROR(ReadFileToString(env, path, &text));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (text.empty() || text.size() > 19 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Status::Corruption(path + " does not hold a boot epoch");
    }
    last = std::stoull(text);
  }
  const uint64_t next = last + 1;
  const std::string tmp = path + ".tmp";
  VELLUM_RETURN_IF_ERROR(WriteStringToFile(env, std::to_string(next) + "\n", tmp, /*sync=*/true));
  VELLUM_RETURN_IF_ERROR(env->RenameFile(tmp, path));
  VELLUM_RETURN_IF_ERROR(env->SyncDir(data_dir));
  return next;
}

// How many of `holders` log key holders decrypt an entry: a majority.
int MajorityOf(size_t holders) { return static_cast<int>(holders / 2 + 1); }

// SHA-256 of the running binary: the measurement in the identity statement.
Result<Bytes> MeasureRunningBinary() {
  std::string image;
  VELLUM_RETURN_IF_ERROR(ReadFileToString(Env::Default(), "/proc/self/exe", &image)
                             .WithContext("measuring the running binary"));
  const crypto::Hash256 h = crypto::Sha256(AsBytes(image));
  return Bytes(h.begin(), h.end());
}

}  // namespace

NodeMetrics::NodeMetrics(http::MetricsRegistry& r)
    : term(&r.GetGauge("vellum_raft_term", "The Raft term this node is in.", {})),
      commit_index(
          &r.GetGauge("vellum_raft_commit_index", "The highest Raft index known committed.", {})),
      applied_index(
          &r.GetGauge("vellum_raft_applied_index", "The Raft index applied to the ledger.", {})),
      is_leader(&r.GetGauge("vellum_raft_is_leader", "1 on the leader, 0 elsewhere.", {})),
      ledger_version(
          &r.GetGauge("vellum_ledger_version", "The ledger's latest version on this node.", {})),
      alarm(&r.GetGauge("vellum_node_alarm", "1 once this node has stopped applying.", {})),
      peer_messages_refused(
          &r.GetCounter("vellum_peer_messages_refused_total",
                        "Peer messages refused: bad envelope, signature, counter or sender.", {})),
      peer_messages_dropped(
          &r.GetCounter("vellum_peer_messages_dropped_total",
                        "Raft messages not queued for a peer (no address, queue full).", {})) {}

bool NodeServer::Impl::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mu);
    if (loop_stopping) return false;
    tasks.push_back(std::move(task));
    tasks_pending.store(true, std::memory_order_release);
  }
  cv.notify_one();
  return true;
}

void NodeServer::Impl::Loop() {
  using Clock = std::chrono::steady_clock;
  const auto tick = std::chrono::milliseconds(config.tick_ms);
  auto next_tick = Clock::now() + tick;
  IdlePoller idle_poller(std::chrono::microseconds(config.idle_poll_us));
  for (;;) {
    std::deque<std::function<void()>> batch;
    // Out of work: look for more for a moment before sleeping (base/idle_poll.h).
    idle_poller.Poll(
        [&] { return tasks_pending.load(std::memory_order_acquire) || Clock::now() >= next_tick; });
    {
      std::unique_lock lock(mu);
      cv.wait_until(lock, next_tick, [&] { return loop_stopping || !tasks.empty(); });
      if (loop_stopping) break;
      batch.swap(tasks);
      tasks_pending.store(false, std::memory_order_relaxed);
    }
    for (std::function<void()>& task : batch) task();
    bool ticked = false;
    const auto now = Clock::now();
    if (now >= next_tick) {
      ledger->Tick();
      ticked = true;
      next_tick += tick;
      // A loop that fell behind (a long fsync) does not burst ticks to catch up:
      // elections must not fire because the node itself was slow.
      if (next_tick <= now) next_tick = now + tick;
    }
    Round(ticked);
  }
}

void NodeServer::Impl::SendToPeers(std::vector<raft::Message>& messages) {
  for (raft::Message& m : messages) {
    const uint64_t to = m.to;
    Result<Bytes> envelope = sealer->Seal(m);
    if (!envelope.ok()) {
      log->Event("peer_seal_failed",
                 {{"peer", std::to_string(to)}, {"reason", envelope.status().ToString()}});
      continue;
    }
    Status sent = transport->Send(to, std::move(envelope).value());
    if (!sent.ok()) {
      // Raft retries what is lost; a full queue is the transport's backpressure.
      node_metrics->peer_messages_dropped->Increment();
    }
  }
  messages.clear();
}

void NodeServer::Impl::Round(bool ticked) {
  const Status processed =
      ledger->Process(&outbox, [this](std::vector<raft::Message>& early) { SendToPeers(early); });
  SendToPeers(outbox);
  if (!processed.ok() && !alarm_logged) {
    alarm_logged = true;
    log->Event("alarm", {{"reason", processed.ToString()},
                         {"action", "this node stopped applying; the operator must look"}});
  }
  const std::vector<std::string>& alarms = ledger->peer_alarms();
  for (; peer_alarms_logged < alarms.size(); ++peer_alarms_logged) {
    log->Event("peer_message_refused", {{"reason", alarms[peer_alarms_logged]}});
  }
  if (ticked) PromoteCaughtUpLearners();
  LogSnapshotActivity();
  PublishStatus();
}

void NodeServer::Impl::OnFrame(uint64_t from, Bytes frame) {
  // Opened here, on the transport's I/O thread (the opener's only user), so that
  // checking signatures runs beside the event loop rather than inside it.
  Result<raft::Message> message = opener->Open(frame);
  http::Counter& refused = *node_metrics->peer_messages_refused;
  if (!message.ok()) {
    refused.Increment();
    log->Event("peer_message_refused",
               {{"peer", std::to_string(from)}, {"reason", message.status().ToString()}});
    return;
  }
  if (message->from != from) {
    refused.Increment();
    log->Event("peer_message_refused",
               {{"peer", std::to_string(from)},
                {"reason", "the message names node " + std::to_string(message->from) +
                               " as its sender, but came from node " + std::to_string(from)}});
    return;
  }
  const bool posted = Post([this, m = std::move(message).value()] {
    ledger->Step(m).IgnoreError();  // refusals are raised as peer alarms
  });
  (void)posted;  // stopping: the message is dropped (Raft tolerates loss)
}

void NodeServer::Impl::OnMembershipChange(const raft::ConfChange& change,
                                          const raft::ConfState& conf) {
  const std::string id = std::to_string(change.node_id);
  if (change.type == raft::ConfChangeType::kRemoveNode) {
    membership->Remove(change.node_id);
    UpdateLogKeyHolders();
    if (change.node_id != config.node_id) transport->RemovePeer(change.node_id);
    log->Event("member_removed", {{"member", id}});
    return;
  }
  Result<MemberRecord> record = DecodeMemberRecord(AsChars(change.context));
  if (!record.ok()) {
    // The leader checked the record before proposing; an unreadable one is kept out
    // of the membership (the node cannot reach it) but the change still counts.
    log->Event("member_record_unreadable",
               {{"member", id}, {"reason", record.status().ToString()}});
    return;
  }
  if (change.node_id != config.node_id) {
    Status s = transport->SetPeerAddress(change.node_id, record->peer_address);
    if (!s.ok()) {
      log->Event("member_address_refused", {{"member", id}, {"reason", s.ToString()}});
    }
  }
  membership->Set(change.node_id, std::move(record).value());
  UpdateLogKeyHolders();
  const bool voter =
      std::find(conf.voters.begin(), conf.voters.end(), change.node_id) != conf.voters.end();
  log->Event("member_changed", {{"member", id}, {"role", voter ? "voter" : "learner"}});
}

void NodeServer::Impl::UpdateLogKeyHolders() {
  std::vector<HolderKey::PublicKey> holders;
  for (const auto& [id, record] : membership->Members()) {
    if (record.holder_public_key.size() != 32) continue;  // DecodeMemberRecord checks
    HolderKey::PublicKey key;
    std::copy(record.holder_public_key.begin(), record.holder_public_key.end(), key.begin());
    holders.push_back(key);
  }
  if (holders.empty() || holders == log_key_holders) return;
  const int threshold = MajorityOf(holders.size());
  // A crash between applying a membership change and this write is mended at the
  // next start, which calls this again.
  Status s = ledger->db()->SetLogKeyHolders(holders, threshold);
  if (!s.ok()) {
    log->Event("log_key_holders_not_changed", {{"reason", s.ToString()}});
    return;
  }
  log_key_holders = std::move(holders);
  log->Event("log_key_holders", {{"holders", std::to_string(log_key_holders.size())},
                                 {"threshold", std::to_string(threshold)}});
}

std::shared_ptr<DB> NodeServer::Impl::LedgerDb() const {
  std::lock_guard lock(ledger_db_mu);
  return ledger_db;
}

Status NodeServer::Impl::FetchSnapshot(uint64_t from, const std::string& into) {
  std::optional<MemberRecord> record = membership->Get(from);
  if (!record.has_value() || record->client_url.empty()) {
    return Status::Unavailable("no client URL is known for node " + std::to_string(from));
  }
  http::HttpsClientOptions options;
  options.ca_certificate_pem = ca_pem;
  // This node's own certificate: the endpoint serves members only.
  options.certificate_pem = cert_pem;
  options.private_key_pem = tls_key.Clone();
  options.request_timeout_ms = config.snapshot_fetch_timeout_ms;
  options.max_response_body_bytes = static_cast<size_t>(config.snapshot_max_bytes);
  VELLUM_ASSIGN_OR_RETURN(std::unique_ptr<http::HttpsClient> client,
                          http::HttpsClient::Create(record->client_url, std::move(options)));
  const auto started = std::chrono::steady_clock::now();
  VELLUM_ASSIGN_OR_RETURN(http::ClientResponse response,
                          client->Send("GET", "/internal/v1/snapshot"));
  if (response.status != 200) {
    return Status::Unavailable("node " + std::to_string(from) + " answered HTTP " +
                               std::to_string(response.status) + " to the snapshot fetch");
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  log->Event("snapshot_fetched", {{"from", std::to_string(from)},
                                  {"bytes", std::to_string(response.body.size())},
                                  {"duration_ms", std::to_string(ms)}});
  return UnpackCheckpoint(Env::Default(), response.body, into, config.snapshot_max_bytes);
}

void NodeServer::Impl::OnLedgerReplaced(std::shared_ptr<DB> db) {
  {
    std::lock_guard lock(ledger_db_mu);
    ledger_db = db;
  }
  if (db == nullptr) return;
  // The installed ledger is the leader's: its member records are the truth now.
  Result<std::map<uint64_t, std::string>> records = ledger->MemberRecords();
  if (!records.ok()) {
    log->Event("member_records_unreadable", {{"reason", records.status().ToString()}});
    return;
  }
  if (!records->empty()) {
    for (auto& [id, text] : *records) {
      Result<MemberRecord> record = DecodeMemberRecord(text);
      if (!record.ok()) continue;
      if (id != config.node_id) {
        transport->SetPeerAddress(id, record->peer_address).IgnoreError();
      }
      membership->Set(id, std::move(record).value());
    }
    for (const auto& [id, record] : membership->Members()) {
      if (id != config.node_id && records->count(id) == 0) {
        membership->Remove(id);
        transport->RemovePeer(id);
      }
    }
  }
  // The ledger's holders are the leader's configuration: set ours again.
  log_key_holders.clear();
  UpdateLogKeyHolders();
}

void NodeServer::Impl::LogSnapshotActivity() {
  const ReplicatedLedger::SnapshotStats st = ledger->snapshot_stats();
  if (st.snapshots_taken != snapshots_taken_logged) {
    snapshots_taken_logged = st.snapshots_taken;
    log->Event("raft_log_compacted", {{"snapshot_index", std::to_string(st.snapshot_index)}});
  }
  if (st.snapshots_installed != snapshots_installed_logged) {
    snapshots_installed_logged = st.snapshots_installed;
    log->Event("snapshot_installed", {{"applied_index", std::to_string(ledger->applied_index())},
                                      {"version", std::to_string(ledger->latest().version)}});
  }
  if (st.install_failures != snapshot_failures_logged) {
    snapshot_failures_logged = st.install_failures;
    log->Event("snapshot_install_failed", {{"reason", st.last_install_error.ToString()},
                                           {"action", "retrying when the leader offers it again"}});
  }
}

void NodeServer::Impl::PromoteCaughtUpLearners() {
  if (!ledger->is_leader()) return;
  const raft::NodeStatus st = ledger->status();
  for (raft::NodeId learner : st.conf_state.learners) {
    uint64_t match = 0;
    for (const auto& [id, m] : st.match) {
      if (id == learner) match = m;
    }
    // Caught up: it holds everything committed, so as a voter it does not stall
    // commitment while it catches up.
    if (match < st.hard_state.commit) continue;
    std::optional<MemberRecord> record = membership->Get(learner);
    if (!record.has_value()) continue;
    raft::ConfChange promote{raft::ConfChangeType::kPromoteLearner, learner,
                             ToBytes(EncodeMemberRecord(*record))};
    Status s = ledger->ProposeConfChange(promote, [this, learner](const vellum::Status& done) {
      if (!done.ok()) {
        log->Event("learner_promotion_failed",
                   {{"member", std::to_string(learner)}, {"reason", done.ToString()}});
      }
    });
    if (s.ok()) {
      log->Event("learner_promoting", {{"member", std::to_string(learner)}});
      return;  // one change at a time
    }
  }
}

void NodeServer::Impl::PublishStatus() {
  const raft::NodeStatus st = ledger->status();
  const CommitInfo latest = ledger->latest();
  NodeStatusSnapshot snap;
  snap.node_id = config.node_id;
  snap.role = std::string(raft::RoleName(st.soft_state.role));
  snap.term = st.hard_state.term;
  snap.leader = st.soft_state.leader;
  snap.commit_index = st.hard_state.commit;
  snap.applied_index = ledger->applied_index();
  snap.applied_version = latest.version;
  snap.state_root = latest.state_root;
  snap.voters = st.conf_state.voters;
  snap.learners = st.conf_state.learners;
  if (!ledger->alarm().ok()) snap.alarm = ledger->alarm().ToString();
  if (snap.role != last_role) {
    log->Event("role_changed", {{"role", snap.role},
                                {"term", std::to_string(snap.term)},
                                {"leader", std::to_string(snap.leader)}});
    last_role = snap.role;
  }
  NodeMetrics& m = *node_metrics;
  m.term->Set(static_cast<double>(snap.term));
  m.commit_index->Set(static_cast<double>(snap.commit_index));
  m.applied_index->Set(static_cast<double>(snap.applied_index));
  m.is_leader->Set(snap.role == "leader" ? 1 : 0);
  m.ledger_version->Set(static_cast<double>(snap.applied_version));
  m.alarm->Set(snap.alarm.empty() ? 0 : 1);
  std::lock_guard lock(status_mu);
  status = std::move(snap);
}

NodeStatusSnapshot NodeServer::Impl::Snapshot() const {
  std::lock_guard lock(status_mu);
  return status;
}

void NodeServer::Impl::StopAll() {
  if (stopped) return;
  stopped = true;
  log->Event("stopping", {});
  // Clients first, while the loop still runs to answer the requests in flight.
  if (server) server->Stop();
  std::thread worker;
  {
    std::lock_guard lock(snapshot_serve_mu);
    worker = std::move(snapshot_worker);
  }
  if (worker.joinable()) worker.join();
  {
    std::lock_guard lock(mu);
    loop_stopping = true;
  }
  cv.notify_one();
  if (loop_thread.joinable()) loop_thread.join();
  tasks.clear();  // answers what was never run (their Responders answer 500)
  if (transport) transport->Stop();
  ledger.reset();  // closes the ledger
  {
    std::lock_guard lock(ledger_db_mu);
    ledger_db.reset();
  }
  log->Event("stopped", {});
}

Result<std::unique_ptr<NodeServer>> NodeServer::Start(const NodeConfig& config,
                                                      std::shared_ptr<NodeLog> log) {
  VELLUM_RETURN_IF_ERROR(config.Validate());
  VELLUM_CHECK(log != nullptr);
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->log = log;
  impl->metrics = std::make_shared<http::MetricsRegistry>();
  impl->node_metrics = std::make_unique<NodeMetrics>(*impl->metrics);

  // Credentials.
  VELLUM_ASSIGN_OR_RETURN(std::string ca_pem,
                          ReadPublicFile(config.ca_certificate_file, "CA certificate"));
  VELLUM_ASSIGN_OR_RETURN(std::string cert_pem,
                          ReadPublicFile(config.certificate_file, "node certificate"));
  VELLUM_ASSIGN_OR_RETURN(crypto::SecureBytes tls_key,
                          ReadSecretFile(config.private_key_file, "node private key"));
  VELLUM_ASSIGN_OR_RETURN(NodeSigningKey signing_key,
                          NodeSigningKey::ReadFile(config.signing_key_file));
  VELLUM_ASSIGN_OR_RETURN(crypto::Ed25519KeyPair key_pair,
                          crypto::Ed25519KeyPair::FromSeed(signing_key.impl().key_pair.seed()));
  // Only the public half: the node never decrypts its log with it.
  VELLUM_ASSIGN_OR_RETURN(HolderKey holder_key, HolderKey::ReadFile(config.holder_key_file));
  const Bytes self_holder_key(holder_key.public_key().begin(), holder_key.public_key().end());
  const std::string master_key_file = config.master_key_file;
  VELLUM_RETURN_IF_ERROR(MasterKey::ReadFile(master_key_file).status());

  VELLUM_RETURN_IF_ERROR(Env::Default()->CreateDirIfMissing(config.data_dir));
  {
    // Checkpoints a crash left behind while they were being served.
    std::vector<std::string> children;
    VELLUM_RETURN_IF_ERROR(Env::Default()->GetChildren(config.data_dir, &children));
    for (const std::string& child : children) {
      if (child.starts_with("snapshot-out.")) {
        VELLUM_RETURN_IF_ERROR(RemoveDirTree(Env::Default(), config.data_dir + "/" + child));
      }
    }
  }
  VELLUM_ASSIGN_OR_RETURN(const uint64_t epoch, NextBootEpoch(config.data_dir));
  VELLUM_ASSIGN_OR_RETURN(Bytes measurement, MeasureRunningBinary());

  // Membership: the initial members from the config, this node itself, then what
  // the ledger records (below, once it is open).
  const Bytes self_key(key_pair.public_key().begin(), key_pair.public_key().end());
  impl->membership = std::make_unique<Membership>(
      config.node_id, std::make_unique<crypto::Ed25519Signer>(std::move(key_pair)));
  std::vector<uint64_t> initial_voters;
  std::vector<HolderKey::PublicKey> initial_holders;
  for (const ClusterMember& m : config.initial_members) {
    VELLUM_ASSIGN_OR_RETURN(Bytes key, HexDecode(m.signing_public_key));
    VELLUM_ASSIGN_OR_RETURN(HolderKey::PublicKey holder, PublicKeyFromHex(m.holder_public_key));
    if (m.id == config.node_id && key != self_key) {
      return Status::InvalidArgument("initial_members lists node " + std::to_string(m.id) +
                                     " with a signing key other than " + config.signing_key_file +
                                     "'s");
    }
    if (m.id == config.node_id && holder != holder_key.public_key()) {
      return Status::InvalidArgument("initial_members lists node " + std::to_string(m.id) +
                                     " with a holder key other than " + config.holder_key_file +
                                     "'s");
    }
    impl->membership->Set(m.id, MemberRecord{m.peer_address, m.client_url, std::move(key),
                                             Bytes(holder.begin(), holder.end())});
    initial_voters.push_back(m.id);
    initial_holders.push_back(holder);
  }
  if (!impl->membership->Get(config.node_id).has_value()) {
    impl->membership->Set(config.node_id,
                          MemberRecord{config.peer_listen, "https://" + config.client_listen,
                                       self_key, self_holder_key});
    initial_holders.push_back(holder_key.public_key());
  }

  ReplicatedLedgerOptions lo;
  lo.node_id = config.node_id;
  lo.dir = config.data_dir;
  lo.master_key_provider = [master_key_file] { return MasterKey::ReadFile(master_key_file); };
  lo.authenticator = impl->membership.get();
  if (!config.join) lo.initial_voters = initial_voters;
  // The ledger's first entries are already split across the members known now; the
  // holders follow the membership from then on (UpdateLogKeyHolders).
  lo.log_key_holders = initial_holders;
  lo.log_threshold = MajorityOf(initial_holders.size());
  lo.election_ticks = config.election_ticks;
  lo.heartbeat_ticks = config.heartbeat_ticks;
  {
    Bytes seed(8);
    crypto::SystemRandom().Fill(seed);
    lo.random_seed = DecodeFixed64BE(seed.data());
  }
  lo.sync = config.sync;
  // Long enough for an election and a retry; short enough that a client hears 503
  // well before the HTTP handler timeout.
  lo.proposal_timeout_ticks = std::max(3 * config.election_ticks, 1);
  lo.snapshot_interval_entries = config.snapshot_interval_entries;
  lo.snapshot_tail_entries = config.snapshot_tail_entries;
  Impl* raw = impl.get();
  // Runs on the loop thread, which waits for it (docs/DESIGN.md, "Snapshots").
  lo.fetch_snapshot = [raw](const LedgerSnapshotDescriptor&, uint64_t from,
                            const std::string& into) { return raw->FetchSnapshot(from, into); };
  impl->ca_pem = ca_pem;
  impl->cert_pem = cert_pem;
  impl->tls_key = tls_key.Clone();
  VELLUM_ASSIGN_OR_RETURN(impl->ledger, ReplicatedLedger::Open(lo));
  impl->ledger_db = impl->ledger->shared_db();
  impl->ledger->set_on_ledger_replaced(
      [raw](std::shared_ptr<DB> db) { raw->OnLedgerReplaced(std::move(db)); });
  impl->ledger->set_on_membership_change(
      [raw](const raft::ConfChange& change, const raft::ConfState& conf) {
        raw->OnMembershipChange(change, conf);
      });

  // The membership the ledger records is the truth; members the Raft configuration
  // no longer has are former members.
  VELLUM_ASSIGN_OR_RETURN(auto records, impl->ledger->MemberRecords());
  for (auto& [id, text] : records) {
    Result<MemberRecord> record = DecodeMemberRecord(text);
    if (record.ok()) impl->membership->Set(id, std::move(record).value());
  }
  const raft::ConfState conf = impl->ledger->status().conf_state;
  for (const auto& [id, record] : impl->membership->Members()) {
    const bool member =
        std::find(conf.voters.begin(), conf.voters.end(), id) != conf.voters.end() ||
        std::find(conf.learners.begin(), conf.learners.end(), id) != conf.learners.end();
    if (!member && id != config.node_id && !(conf.voters.empty() && conf.learners.empty())) {
      impl->membership->Remove(id);
    }
  }

  impl->UpdateLogKeyHolders();

  impl->sealer =
      std::make_unique<raft::MessageSealer>(config.node_id, impl->membership.get(), epoch);
  impl->opener = std::make_unique<raft::MessageOpener>(config.node_id, impl->membership.get());

  // The peer transport.
  raft::PeerTransportOptions to;
  to.self_id = config.node_id;
  to.listen_address = config.peer_listen;
  to.ca_certificate_pem = ca_pem;
  to.certificate_pem = cert_pem;
  to.private_key_pem = tls_key.Clone();
  to.signer = &impl->membership->signer();
  to.measurement = measurement;
  to.idle_poll_us = config.idle_poll_us;
  Membership* membership = impl->membership.get();
  to.authorize_peer = [membership](const raft::PeerIdentity& identity) {
    return membership->AuthorizePeer(identity);
  };
  to.log = [log](std::string_view line) { log->Line(line); };
  VELLUM_ASSIGN_OR_RETURN(impl->transport,
                          raft::PeerTransport::Start(std::move(to), [raw](uint64_t from, Bytes f) {
                            raw->OnFrame(from, std::move(f));
                          }));
  for (const auto& [id, record] : impl->membership->Members()) {
    if (id == config.node_id) continue;
    Status s = impl->transport->SetPeerAddress(id, record.peer_address);
    if (!s.ok()) {
      log->Event("member_address_refused",
                 {{"member", std::to_string(id)}, {"reason", s.ToString()}});
    }
  }

  impl->PublishStatus();
  impl->loop_thread = std::thread([raw] { raw->Loop(); });

  // The client API.
  http::HttpsServerOptions ho;
  ho.listen_address = config.client_listen;
  ho.ca_certificate_pem = ca_pem;
  ho.certificate_pem = cert_pem;
  ho.private_key_pem = std::move(tls_key);
  ho.metrics = impl->metrics;
  ho.idle_poll_us = config.idle_poll_us;
  ho.log = [log](std::string_view line) { log->Line(line); };
  Result<std::unique_ptr<http::HttpsServer>> server =
      http::HttpsServer::Start(std::move(ho), impl->MakeRouter());
  if (!server.ok()) {
    impl->StopAll();
    return server.status().WithContext("starting the client API on " + config.client_listen);
  }
  impl->server = std::move(server).value();
  log->Event("started", {{"peer_listen", config.peer_listen},
                         {"client_listen", config.client_listen},
                         {"data_dir", config.data_dir},
                         {"boot_epoch", std::to_string(epoch)},
                         {"measurement", HexEncode(measurement)}});
  return std::unique_ptr<NodeServer>(new NodeServer(std::move(impl)));
}

NodeServer::NodeServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

NodeServer::~NodeServer() { Stop(); }

void NodeServer::Stop() { impl_->StopAll(); }

uint16_t NodeServer::client_port() const { return impl_->server->bound_port(); }

uint16_t NodeServer::peer_port() const { return impl_->transport->bound_port(); }

Status NodeServer::alarm() const {
  const NodeStatusSnapshot s = impl_->Snapshot();
  return s.alarm.empty() ? Status::OK() : Status::Unavailable(s.alarm);
}

}  // namespace vellum::node
