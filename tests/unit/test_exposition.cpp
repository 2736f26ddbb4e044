#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>

#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "metrics/exposition.h"
#include "metrics/names.h"
#include "metrics/snapshot_store.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;

std::string gunzip(const std::string& data) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string out(data.size() * 50 + 1024, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

Snapshot sample_snapshot() {
  auto usage = std::make_shared<AccountUsage>();
  usage->account_id = "acc-1";
  usage->period = month_containing(Seconds{sys_days{year{2026} / 11 / 15}.time_since_epoch()});
  usage->total = {7, 700};
  usage->environments = {{"env-a", "Prod \"eu\"", {5, 500}}, {"env-b", "", {2, 200}}};
  usage->workspaces = {
      {"ws-1", "quote\" back\\slash\nnewline ü", std::nullopt, std::nullopt, {4, 400}},
      {"ws-2", "", std::string("env-b"), std::string("B"), {3, 300}}};
  Snapshot snapshot;
  snapshot.generation = 3;
  snapshot.source_up = true;
  AccountState& state = snapshot.accounts["acc-1"];
  state.usage = usage;
  state.up = true;
  state.last_success_unix_seconds = 1.7e9;
  state.last_poll_duration_seconds = 0.25;
  AccountState& failing = snapshot.accounts["acc-2"];
  failing.up = false;
  failing.last_error_reason = ErrorReason::unauthorized;
  snapshot.poll_errors[{"acc-2", ErrorReason::unauthorized}] = 2;
  for (int i = 0; i < 9; ++i) snapshot.api_requests["default"].observe(200, 0.02);
  for (int i = 0; i < 2; ++i) snapshot.api_requests["default"].observe(401, 0.2);
  return snapshot;
}

const BuildInfo kBuild{"1.2.3", "abc"};

TEST(Exposition, ContainsEveryRequiredFamilyWithHelpAndType) {
  const std::string text = render_exposition(sample_snapshot(), kBuild).text;
  for (const char* name :
       {metric_names::kAccountRuns, metric_names::kAccountRunSeconds,
        metric_names::kEnvironmentRuns, metric_names::kEnvironmentRunSeconds,
        metric_names::kWorkspaceRuns, metric_names::kWorkspaceRunSeconds,
        metric_names::kPeriodStart, metric_names::kPeriodEnd, metric_names::kUp,
        metric_names::kSourceUp, metric_names::kLastSuccess, metric_names::kLastPollDuration,
        metric_names::kPollErrors, metric_names::kApiRequests, metric_names::kBuildInfo,
        metric_names::kShardInfo}) {
    EXPECT_NE(text.find(std::string("# HELP ") + name + " "), std::string::npos) << name;
    EXPECT_NE(text.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
  }
  EXPECT_NE(text.find("# TYPE scalr_account_runs_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE scalr_up gauge"), std::string::npos);
}

TEST(Exposition, ValuesAndLabelsComeFromTheSnapshot) {
  const std::string text = render_exposition(sample_snapshot(), kBuild).text;
  EXPECT_NE(text.find("scalr_account_runs_total{account_id=\"acc-1\"} 7\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("scalr_account_run_seconds_total{account_id=\"acc-1\"} 700\n"),
            std::string::npos);
  EXPECT_NE(text.find("scalr_billing_period_start_timestamp_seconds{account_id=\"acc-1\"} "
                      "1793491200\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("scalr_billing_period_end_timestamp_seconds{account_id=\"acc-1\"} "
                      "1796083200\n"),
            std::string::npos);
  EXPECT_NE(text.find("scalr_up{account_id=\"acc-2\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("scalr_up{account_id=\"acc-1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("\nscalr_exporter_source_up 1\n"), std::string::npos);
  EXPECT_NE(
      text.find(
          "scalr_exporter_poll_errors_total{account_id=\"acc-2\",reason=\"unauthorized\"} 2\n"),
      std::string::npos);
  EXPECT_NE(
      text.find("scalr_exporter_poll_errors_total{account_id=\"acc-1\",reason=\"timeout\"} 0\n"),
      std::string::npos);
  EXPECT_NE(text.find("scalr_exporter_api_requests_total{target=\"default\",code=\"401\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("scalr_exporter_build_info{version=\"1.2.3\",revision=\"abc\"} 1\n"),
            std::string::npos);
  // An account that never succeeded exposes no usage rather than zeros.
  EXPECT_EQ(text.find("scalr_account_runs_total{account_id=\"acc-2\"}"), std::string::npos);
}

TEST(Exposition, ShardInfoIsIndexZeroOfOneWhenNotSharded) {
  const std::string text = render_exposition(sample_snapshot(), kBuild).text;
  EXPECT_NE(text.find("\nscalr_exporter_shard_info{index=\"0\",count=\"1\"} 1\n"),
            std::string::npos)
      << text;
}

TEST(Exposition, ShardInfoComesFromTheConfigStatus) {
  ConfigStatus config;
  config.shard = ShardSpec{2, 3};
  const std::string text = render_exposition(sample_snapshot(), kBuild, {}, config).text;
  EXPECT_NE(text.find("\nscalr_exporter_shard_info{index=\"2\",count=\"3\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("scalr_exporter_shard_info{index=\"0\""), std::string::npos);
}

TEST(Exposition, SourceStateOnlyOnceKnown) {
  Snapshot snapshot = sample_snapshot();
  snapshot.source_up = false;
  EXPECT_NE(render_exposition(snapshot, kBuild).text.find("\nscalr_exporter_source_up 0\n"),
            std::string::npos);
  snapshot.source_up.reset();
  EXPECT_EQ(render_exposition(snapshot, kBuild).text.find("scalr_exporter_source_up"),
            std::string::npos);
}

TEST(Exposition, LabelValuesAreEscaped) {
  const std::string text = render_exposition(sample_snapshot(), kBuild).text;
  EXPECT_NE(text.find("workspace_name=\"quote\\\" back\\\\slash\\nnewline ü\""), std::string::npos)
      << text;
  EXPECT_NE(text.find("environment_name=\"Prod \\\"eu\\\"\""), std::string::npos);
}

TEST(Exposition, WorkspaceEnvironmentLabelsOnlyWhenKnown) {
  const std::string text = render_exposition(sample_snapshot(), kBuild).text;
  EXPECT_NE(text.find("scalr_workspace_runs_total{account_id=\"acc-1\",environment_id=\"env-b\","
                      "environment_name=\"B\",workspace_id=\"ws-2\",workspace_name=\"\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("scalr_workspace_runs_total{account_id=\"acc-1\",workspace_id=\"ws-1\","),
            std::string::npos);
}

TEST(Exposition, GzipDecompressesToTheText) {
  const Exposition exposition = render_exposition(sample_snapshot(), kBuild);
  const std::string gzip = exposition.gzip.head + gzip_tail(exposition.gzip, "");
  EXPECT_EQ(gunzip(gzip), exposition.text);
  EXPECT_LT(gzip.size(), exposition.text.size());
}

// An open member finished with a tail is one gzip member of text + tail, whatever the sizes (the
// empty cases and one larger than zlib's 32 KiB window included).
TEST(Exposition, OpenGzipFinishedWithATailIsOneMemberOfBoth) {
  std::string big;
  for (int i = 0; i < 20000; ++i)
    big += "scalr_workspace_runs_total{workspace_id=\"ws-" + std::to_string(i * 7919 % 100003) +
           "\"} " + std::to_string(i) + "\n";
  for (const std::string& text : {std::string(), std::string("a\n"), big}) {
    const OpenGzip open = gzip_open(text);
    for (const std::string& tail : {std::string(), std::string("process_open_fds 7\n"), big}) {
      const std::string member = open.head + gzip_tail(open, tail);
      EXPECT_EQ(gunzip(member), text + tail) << text.size() << " + " << tail.size();
    }
  }
  EXPECT_LT(gzip_open(big).head.size(), big.size() / 4);
}

// The same check with a decoder that shares no code with this one: the gzip program, which also
// verifies the CRC and length in the trailer.
TEST(Exposition, OpenGzipWithTailPassesGzipIntegrityCheck) {
  const Exposition exposition = render_exposition(sample_snapshot(), kBuild);
  const std::string tail = "process_open_fds 7\n";
  const std::string member = exposition.gzip.head + gzip_tail(exposition.gzip, tail);
  char path[] = "/tmp/sue-gzip-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, member.data(), member.size()), static_cast<ssize_t>(member.size()));
  close(fd);
  const std::string command = std::string("gzip -dc < ") + path;
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0);
  unlink(path);
  EXPECT_EQ(out, exposition.text + tail);
}

TEST(Exposition, WorkspaceThatLeavesTheDataLeavesTheOutput) {
  Snapshot snapshot = sample_snapshot();
  auto usage = std::make_shared<AccountUsage>(*snapshot.accounts["acc-1"].usage);
  usage->workspaces.pop_back();
  snapshot.accounts["acc-1"].usage = usage;
  const std::string text = render_exposition(snapshot, kBuild).text;
  EXPECT_EQ(text.find("workspace_id=\"ws-2\""), std::string::npos);
}

ReportStatus sample_report_status() {
  ReportStatus status;
  status.included_runs = 500;
  status.schedules["monthly"].errors = 2;
  status.schedules["monthly"].last_success_unix_seconds = 1.8e9;
  status.schedules["daily"];  // configured, never written
  for (int i = 0; i < 3; ++i) status.api_requests["default"].observe(200, 0.02);
  status.api_requests["default"].observe(503, 7);
  return status;
}

TEST(Exposition, ReportStatusAndPlan) {
  const std::string text =
      render_exposition(sample_snapshot(), kBuild, sample_report_status()).text;
  for (const char* line : {
           "# TYPE scalr_exporter_report_errors_total counter\n",
           "scalr_exporter_report_errors_total{schedule=\"daily\"} 0\n",
           "scalr_exporter_report_errors_total{schedule=\"monthly\"} 2\n",
           "# TYPE scalr_exporter_report_last_success_timestamp_seconds gauge\n",
           "scalr_exporter_report_last_success_timestamp_seconds{schedule=\"monthly\"} "
           "1800000000\n",
           "# TYPE scalr_account_included_runs gauge\n",
           // Every account of the snapshot, the failing one too.
           "scalr_account_included_runs{account_id=\"acc-1\"} 500\n",
           "scalr_account_included_runs{account_id=\"acc-2\"} 500\n",
           // The report runs' API responses add to the poller's.
           "scalr_exporter_api_requests_total{target=\"default\",code=\"200\"} 12\n",
           "scalr_exporter_api_requests_total{target=\"default\",code=\"503\"} 1\n",
           // ... and to the duration histogram: 12 + 2 + 1 responses, 12 of them at 20 ms.
           "scalr_exporter_api_request_duration_seconds_bucket{target=\"default\",le=\"0.025\"} "
           "12\n",
           "scalr_exporter_api_request_duration_seconds_bucket{target=\"default\",le=\"5\"} 14\n",
           "scalr_exporter_api_request_duration_seconds_bucket{target=\"default\",le=\"+Inf\"} "
           "15\n",
           "scalr_exporter_api_request_duration_seconds_count{target=\"default\"} 15\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  EXPECT_EQ(text.find("report_last_success_timestamp_seconds{schedule=\"daily\"}"),
            std::string::npos);
}

TEST(Exposition, NoPlanNoScheduleNoReportSeries) {
  const std::string text = render_exposition(sample_snapshot(), kBuild).text;
  EXPECT_EQ(text.find("scalr_account_included_runs"), std::string::npos);
  EXPECT_EQ(text.find("scalr_exporter_report_"), std::string::npos);
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

// The text is rendered a batch of samples at a time, the later batches of a family without their
// HELP and TYPE; whatever the batch size it must be exactly what prometheus-cpp writes for the
// whole model at once.
TEST(Exposition, RenderedInBatchesItIsTheWholeModelsText) {
  Snapshot snapshot = sample_snapshot();
  auto usage = std::make_shared<AccountUsage>(*snapshot.accounts["acc-1"].usage);
  for (std::uint64_t i = 0; i < 2500; ++i) {
    usage->workspaces.push_back({"ws-b" + std::to_string(i),
                                 "name \"" + std::to_string(i) + "\"",
                                 std::string("env-a"),
                                 std::string("Prod"),
                                 {i, 10 * i}});
  }
  snapshot.accounts["acc-1"].usage = usage;
  const ReportStatus reports = sample_report_status();
  std::ostringstream whole;
  prometheus::TextSerializer{}.Serialize(whole, collect_metrics(snapshot, kBuild, reports));
  ASSERT_EQ(count_of(whole.str(), "\nscalr_workspace_runs_total{"), 2502u);
  for (const std::size_t batch : {1u, 2u, 1023u, 1024u, 1025u, 100000u}) {
    const Exposition exposition = render_exposition(snapshot, kBuild, reports, {}, 0, batch);
    EXPECT_EQ(exposition.text, whole.str()) << batch;
    EXPECT_EQ(count_of(exposition.text, "# HELP scalr_workspace_runs_total "), 1u) << batch;
    EXPECT_EQ(gunzip(exposition.gzip.head + gzip_tail(exposition.gzip, "")), whole.str());
  }
}

// The cached text is kept until the next publication: it must not carry spare capacity, whatever
// the hint (none, the right size, far too big).
TEST(Exposition, CachedTextHoldsNoSpareCapacity) {
  const std::size_t size = render_exposition(sample_snapshot(), kBuild).text.size();
  for (const std::size_t hint : {std::size_t{0}, size, std::size_t{64} << 20}) {
    const Exposition exposition = render_exposition(sample_snapshot(), kBuild, {}, {}, hint);
    EXPECT_EQ(exposition.text.size(), size);
    EXPECT_LE(exposition.text.capacity(), size + size / 4 + 4096) << hint;
    EXPECT_LE(exposition.gzip.head.capacity(), exposition.gzip.head.size() + 64) << hint;
  }
}

TEST(SnapshotStore, EachPublicationKeepsTheOtherWritersInput) {
  SnapshotStore store(kBuild);
  store.publish_report_status(sample_report_status());
  store.publish(sample_snapshot());
  std::string text = store.exposition()->text;
  EXPECT_NE(text.find("scalr_exporter_report_errors_total{schedule=\"monthly\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("scalr_account_runs_total{account_id=\"acc-1\"} 7"), std::string::npos);
  ReportStatus next = sample_report_status();
  next.schedules["monthly"].errors = 3;
  store.publish_report_status(next);
  text = store.exposition()->text;
  EXPECT_NE(text.find("scalr_exporter_report_errors_total{schedule=\"monthly\"} 3"),
            std::string::npos);
  EXPECT_NE(text.find("scalr_account_runs_total{account_id=\"acc-1\"} 7"), std::string::npos);
  EXPECT_EQ(store.snapshot()->generation, 3u);
  EXPECT_EQ(store.report_status()->schedules.at("monthly").errors, 3u);
}

}  // namespace
}  // namespace scalr_usage
