// Copyright (c) Vellum authors.
//
// Tests of MetricsRegistry: the exact Prometheus text for a known sequence of updates
// (golden strings), escaping, bucket semantics, identity of series, and concurrent
// updates.
//
// Thread safety: the concurrency test shares one registry between threads; the others
// are single-threaded.

#include "node/http/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace vellum::http {
namespace {

TEST(MetricsTest, RendersGoldenText) {
  MetricsRegistry registry;
  Counter& get_ok = registry.GetCounter("test_requests_total", "Requests served.",
                                        {{"method", "GET"}, {"code", "200"}});
  get_ok.Increment();
  get_ok.Increment(2);
  registry
      .GetCounter("test_requests_total", "ignored: the first help wins",
                  {{"method", "PUT"}, {"code", "500"}})
      .Increment();
  registry.GetGauge("test_queue_depth", "Entries queued.").Set(-1.5);
  registry.GetGauge("test_queue_depth", "Entries queued.").Add(4);
  const double bounds[] = {0.5, 1, 2.5};
  Histogram& latency =
      registry.GetHistogram("test_latency_seconds", "Latency.", bounds, {{"route", "/a"}});
  for (const double v : {0.25, 0.5, 0.75, 3.0}) latency.Observe(v);
  registry.GetHistogram("test_latency_seconds", "Latency.", bounds, {{"route", "/b"}});
  registry.GetCounter("test_untouched_total", "Never incremented.");

  EXPECT_EQ(registry.Render(),
            "# HELP test_latency_seconds Latency.\n"
            "# TYPE test_latency_seconds histogram\n"
            "test_latency_seconds_bucket{route=\"/a\",le=\"0.5\"} 2\n"
            "test_latency_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
            "test_latency_seconds_bucket{route=\"/a\",le=\"2.5\"} 3\n"
            "test_latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
            "test_latency_seconds_sum{route=\"/a\"} 4.5\n"
            "test_latency_seconds_count{route=\"/a\"} 4\n"
            "test_latency_seconds_bucket{route=\"/b\",le=\"0.5\"} 0\n"
            "test_latency_seconds_bucket{route=\"/b\",le=\"1\"} 0\n"
            "test_latency_seconds_bucket{route=\"/b\",le=\"2.5\"} 0\n"
            "test_latency_seconds_bucket{route=\"/b\",le=\"+Inf\"} 0\n"
            "test_latency_seconds_sum{route=\"/b\"} 0\n"
            "test_latency_seconds_count{route=\"/b\"} 0\n"
            "# HELP test_queue_depth Entries queued.\n"
            "# TYPE test_queue_depth gauge\n"
            "test_queue_depth 2.5\n"
            "# HELP test_requests_total Requests served.\n"
            "# TYPE test_requests_total counter\n"
            "test_requests_total{code=\"200\",method=\"GET\"} 3\n"
            "test_requests_total{code=\"500\",method=\"PUT\"} 1\n"
            "# HELP test_untouched_total Never incremented.\n"
            "# TYPE test_untouched_total counter\n"
            "test_untouched_total 0\n");
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  registry
      .GetCounter("test_escapes_total", "Help with a \\ backslash,\na new line and \"quotes\".",
                  {{"path", "C:\\dir\\\"x\"\nnext"}, {"plain", "a{b}=c,d"}})
      .Increment(0.5);
  EXPECT_EQ(registry.Render(),
            "# HELP test_escapes_total Help with a \\\\ backslash,\\na new line and "
            "\"quotes\".\n"
            "# TYPE test_escapes_total counter\n"
            "test_escapes_total{path=\"C:\\\\dir\\\\\\\"x\\\"\\nnext\",plain=\"a{b}=c,d\"} "
            "0.5\n");
}

TEST(MetricsTest, FormatsSpecialNumbers) {
  MetricsRegistry registry;
  registry.GetGauge("g", "h", {{"v", "nan"}}).Set(std::numeric_limits<double>::quiet_NaN());
  registry.GetGauge("g", "h", {{"v", "pinf"}}).Set(std::numeric_limits<double>::infinity());
  registry.GetGauge("g", "h", {{"v", "ninf"}}).Set(-std::numeric_limits<double>::infinity());
  registry.GetGauge("g", "h", {{"v", "small"}}).Set(1e-7);
  registry.GetGauge("g", "h", {{"v", "big"}}).Set(12345678901234567890.0);
  EXPECT_EQ(registry.Render(),
            "# HELP g h\n"
            "# TYPE g gauge\n"
            "g{v=\"big\"} 12345678901234567168\n"
            "g{v=\"nan\"} NaN\n"
            "g{v=\"ninf\"} -Inf\n"
            "g{v=\"pinf\"} +Inf\n"
            "g{v=\"small\"} 1e-07\n");
}

TEST(MetricsTest, BucketsAreUpperInclusiveAndCumulative) {
  Histogram h({1, 2});
  h.Observe(1);             // le=1
  h.Observe(1.5);           // le=2
  h.Observe(2);             // le=2
  h.Observe(2.5);           // +Inf
  h.Observe(-3);            // le=1
  h.Observe(std::nan(""));  // ignored
  const Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.cumulative_counts, (std::vector<uint64_t>{2, 4, 5}));
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.sum, 4.0);
}

TEST(MetricsTest, SameSeriesIsTheSameObject) {
  MetricsRegistry registry;
  Counter& a = registry.GetCounter("c_total", "h", {{"x", "1"}});
  Counter& b = registry.GetCounter("c_total", "h", {{"x", "1"}});
  Counter& other = registry.GetCounter("c_total", "h", {{"x", "2"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  a.Increment();
  EXPECT_EQ(b.Value(), 1);
  EXPECT_EQ(other.Value(), 0);
}

TEST(MetricsDeathTest, MisuseAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(MetricsRegistry().GetCounter("bad-name", "h"), "metric name");
  EXPECT_DEATH(MetricsRegistry().GetCounter("ok", "h", {{"__reserved", "x"}}), "label name");
  EXPECT_DEATH(
      {
        MetricsRegistry r;
        r.GetCounter("m", "h");
        r.GetGauge("m", "h");
      },
      "two types");
  EXPECT_DEATH(
      {
        MetricsRegistry r;
        r.GetCounter("m", "h", {{"a", "1"}});
        r.GetCounter("m", "h", {{"b", "1"}});
      },
      "other label names");
  EXPECT_DEATH(MetricsRegistry().GetCounter("m", "h").Increment(-1), "negative");
  EXPECT_DEATH(Histogram({2, 1}), "increasing");
  EXPECT_DEATH(
      {
        const double b[] = {1};
        MetricsRegistry().GetHistogram("h", "h", b, {{"le", "x"}});
      },
      "le");
}

TEST(MetricsTest, ConcurrentUpdatesAreExact) {
  MetricsRegistry registry;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  const std::vector<double> bounds = DefaultLatencyBuckets();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        registry.GetCounter("ops_total", "h", {{"shard", std::to_string(t % 2)}}).Increment();
        registry.GetGauge("level", "h").Add(1);
        registry.GetHistogram("lat_seconds", "h", bounds).Observe(0.001);
        if (i % 1000 == 0) (void)registry.Render();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(registry.GetCounter("ops_total", "h", {{"shard", "0"}}).Value(),
            kThreads / 2 * kPerThread);
  EXPECT_EQ(registry.GetGauge("level", "h").Value(), kThreads * kPerThread);
  const Histogram::Snapshot s = registry.GetHistogram("lat_seconds", "h", bounds).Read();
  EXPECT_EQ(s.count, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(s.cumulative_counts.front(), uint64_t{kThreads} * kPerThread);
}

}  // namespace
}  // namespace vellum::http
