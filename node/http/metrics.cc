// Copyright (c) Vellum authors.
//
// The metrics registry and its Prometheus text rendering (see metrics.h).
//
// Thread safety: the registry's map of families and each family's map of series are
// guarded by the registry's mutex; series objects are never moved or freed before the
// registry, so references handed out stay valid without it.

#include "node/http/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "vellum/check.h"

namespace vellum::http {
namespace {

enum Type { kCounter = 0, kGauge = 1, kHistogram = 2 };

constexpr std::string_view kTypeNames[] = {"counter", "gauge", "histogram"};

bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  VELLUM_CHECK(ec == std::errc());
  return std::string(buf, end);
}

void AppendEscaped(std::string* out, std::string_view text, bool escape_quote) {
  for (const char c : text) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"' && escape_quote) {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

// `{a="x",b="y"}` (with `le` appended last when given), or "" for no labels.
std::string FormatLabels(const MetricLabels& labels, const std::string* le = nullptr) {
  if (labels.empty() && le == nullptr) return "";
  std::string out = "{";
  bool first = true;
  const auto add = [&](std::string_view name, std::string_view value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    AppendEscaped(&out, value, /*escape_quote=*/true);
    out += '"';
  };
  for (const auto& [name, value] : labels) add(name, value);
  if (le != nullptr) add("le", *le);
  out += '}';
  return out;
}

}  // namespace

void Counter::Increment(double amount) {
  VELLUM_CHECK_MSG(amount >= 0, "Counter::Increment by a negative amount");
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    VELLUM_CHECK_MSG(std::isfinite(bounds_[i]), "histogram bucket bound is not finite");
    VELLUM_CHECK_MSG(i == 0 || bounds_[i - 1] < bounds_[i],
                     "histogram bucket bounds are not strictly increasing");
  }
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  std::lock_guard lock(mu_);
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  std::lock_guard lock(mu_);
  uint64_t running = 0;
  for (const uint64_t n : counts_) {
    running += n;
    snapshot.cumulative_counts.push_back(running);
  }
  snapshot.sum = sum_;
  snapshot.count = count_;
  return snapshot;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

struct MetricsRegistry::Family {
  int type = kCounter;
  std::string help;
  std::vector<std::string> label_names;  // sorted (the keys of every series' labels)
  std::vector<double> bounds;            // histograms
  std::map<MetricLabels, std::unique_ptr<Counter>> counters;
  std::map<MetricLabels, std::unique_ptr<Gauge>> gauges;
  std::map<MetricLabels, std::unique_ptr<Histogram>> histograms;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::FamilyFor(std::string_view name, std::string_view help,
                                                    int type, const MetricLabels& labels) {
  VELLUM_CHECK_MSG(IsMetricName(name), "malformed metric name");
  std::vector<std::string> label_names;
  for (const auto& [label, value] : labels) {
    VELLUM_CHECK_MSG(IsLabelName(label), "malformed metric label name");
    VELLUM_CHECK_MSG(type != kHistogram || label != "le", "histogram label named le");
    label_names.push_back(label);
  }
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->type = type;
    family->help = std::string(help);
    family->label_names = std::move(label_names);
    it = families_.emplace(std::string(name), std::move(family)).first;
    return *it->second;
  }
  Family& family = *it->second;
  VELLUM_CHECK_MSG(family.type == type, "metric registered with two types");
  VELLUM_CHECK_MSG(family.label_names == label_names, "metric series with other label names");
  return family;
}

Counter& MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  Family& family = FamilyFor(name, help, kCounter, labels);
  std::unique_ptr<Counter>& series = family.counters[labels];
  if (series == nullptr) series = std::make_unique<Counter>();
  return *series;
}

Gauge& MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  Family& family = FamilyFor(name, help, kGauge, labels);
  std::unique_ptr<Gauge>& series = family.gauges[labels];
  if (series == nullptr) series = std::make_unique<Gauge>();
  return *series;
}

Histogram& MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                         std::span<const double> bounds,
                                         const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  const bool is_new = families_.find(name) == families_.end();
  Family& family = FamilyFor(name, help, kHistogram, labels);
  if (is_new) family.bounds.assign(bounds.begin(), bounds.end());
  VELLUM_CHECK_MSG(
      std::equal(family.bounds.begin(), family.bounds.end(), bounds.begin(), bounds.end()),
      "histogram series with other buckets");
  std::unique_ptr<Histogram>& series = family.histograms[labels];
  if (series == nullptr) series = std::make_unique<Histogram>(family.bounds);
  return *series;
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& entry : families_) {
    // Not a structured binding: clang 14 cannot capture one in the lambda below.
    const std::string& name = entry.first;
    const auto& family = entry.second;
    out += "# HELP ";
    out += name;
    out += ' ';
    AppendEscaped(&out, family->help, /*escape_quote=*/false);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += kTypeNames[family->type];
    out += '\n';
    const auto line = [&](std::string_view suffix, const std::string& labels,
                          const std::string& value) {
      out += name;
      out += suffix;
      out += labels;
      out += ' ';
      out += value;
      out += '\n';
    };
    for (const auto& [labels, counter] : family->counters) {
      line("", FormatLabels(labels), FormatNumber(counter->Value()));
    }
    for (const auto& [labels, gauge] : family->gauges) {
      line("", FormatLabels(labels), FormatNumber(gauge->Value()));
    }
    for (const auto& [labels, histogram] : family->histograms) {
      const Histogram::Snapshot snapshot = histogram->Read();
      for (size_t i = 0; i <= family->bounds.size(); ++i) {
        const std::string le =
            i < family->bounds.size() ? FormatNumber(family->bounds[i]) : std::string("+Inf");
        line("_bucket", FormatLabels(labels, &le), std::to_string(snapshot.cumulative_counts[i]));
      }
      const std::string plain = FormatLabels(labels);
      line("_sum", plain, FormatNumber(snapshot.sum));
      line("_count", plain, std::to_string(snapshot.count));
    }
  }
  return out;
}

}  // namespace vellum::http
