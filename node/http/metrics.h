// Copyright (c) Vellum authors.
//
// A metrics registry rendered in the Prometheus text exposition format (version 0.0.4):
// counters, gauges and histograms with fixed buckets, each a family of series told
// apart by label values. The node serves Render() at GET /metrics.
//
//   MetricsRegistry registry;
//   Counter& served = registry.GetCounter("vellum_kv_reads_total", "KV reads served.",
//                                         {{"table", "accounts"}});
//   served.Increment();
//
// Rendering is deterministic: families sorted by name, series by label values, labels by
// name (histograms' "le" last); numbers in the shortest form that reads back exactly,
// "+Inf", "-Inf" and "NaN". Label values escape '\' '"' and line feed, HELP text '\'
// and line feed, as the format requires.
//
// Names are fixed by the code, so a malformed metric or label name, a name registered
// with two types, label names that differ between series of a family, or histogram
// buckets that differ or are not finite and strictly increasing, are programming errors
// and abort. The help text of a family is the one given first.
//
// Thread safety: everything is thread-safe. Get*() returns a reference that stays valid
// as long as the registry (series are never removed); updating a series is lock-free for
// counters and gauges and takes a short per-series lock for histograms.

#ifndef VELLUM_NODE_HTTP_METRICS_H_
#define VELLUM_NODE_HTTP_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vellum::http {

// Label name -> value. Values are arbitrary bytes (UTF-8 expected by scrapers).
using MetricLabels = std::map<std::string, std::string>;

// A monotonically increasing value.
class Counter {
 public:
  // `amount` must be >= 0 (a counter never goes down).
  void Increment(double amount = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted in fixed buckets ("le": less than or equal to the bound).
class Histogram {
 public:
  // `bounds` finite and strictly increasing; a +Inf bucket is implicit.
  explicit Histogram(std::vector<double> bounds);

  // NaN is ignored.
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  // A consistent view (counts, sum and count from the same instant).
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// 5 ms to 10 s, the usual request-latency buckets (seconds).
std::vector<double> DefaultLatencyBuckets();

class MetricsRegistry {
 public:
  // The Content-Type of Render()'s output.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The series of family `name` with `labels`, created (at zero) on first use. Metric
  // names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and do not
  // start with "__" (histograms: and are not "le").
  Counter& GetCounter(std::string_view name, std::string_view help,
                      const MetricLabels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help,
                          std::span<const double> bounds, const MetricLabels& labels = {});

  // Every series in the text exposition format, "\n"-terminated lines.
  std::string Render() const;

 private:
  struct Family;
  Family& FamilyFor(std::string_view name, std::string_view help, int type,
                    const MetricLabels& labels);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
};

}  // namespace vellum::http

#endif  // VELLUM_NODE_HTTP_METRICS_H_
