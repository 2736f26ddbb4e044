#include "daemon/config_file.h"

#include <optional>
#include <string>
#include <vector>

#include "config/files.h"
#include "config/node.h"
#include "leader_election/config.h"

namespace scalr_usage {

namespace {

// Big enough for any real file, small enough that a wrong path such as /dev/zero fails at once.
constexpr std::size_t kMaxConfigBytes = 1 << 20;

// poll.shard: both keys, or neither (an empty `shard:` is not sharded, like any empty section).
void parse_shard_section(const ConfigNode& section, ShardSpec& shard) {
  std::optional<ConfigNode> index_node;
  long long index = 0;
  std::optional<long long> count;
  section.walk({
      {"index",
       [&](const ConfigNode& v) {
         index = v.integer(0);
         index_node = v;
       }},
      {"count", [&](const ConfigNode& v) { count = v.integer(1); }},
  });
  if (!index_node && !count) return;
  if (!index_node) section.fail_at(section.path() + ".index", "required with poll.shard.count");
  if (!count) section.fail_at(section.path() + ".count", "required with poll.shard.index");
  if (index >= *count) {
    index_node->fail("must be less than poll.shard.count (" + std::to_string(*count) +
                     "): shards are numbered from 0, got " + std::to_string(index));
  }
  shard = ShardSpec{static_cast<std::uint64_t>(index), static_cast<std::uint64_t>(*count)};
}

void parse_poll_section(const ConfigNode& section, PollConfig& poll) {
  section.walk({
      {"interval",
       [&](const ConfigNode& v) { poll.interval = v.duration(std::chrono::seconds{1}); }},
      {"shard", [&](const ConfigNode& v) { parse_shard_section(v, poll.shard); }},
  });
}

}  // namespace

Config parse_config(const std::string& yaml_text, const Environment& env) {
  const ConfigNode root = ConfigNode::parse_document(
      yaml_text, "config.file", {}, "is empty (want at least scalr.url and scalr.accounts)");
  Config config;
  std::string source{default_source_name()};
  SourceSections source_sections;
  DeliverySections delivery_sections;
  const ReportsSectionHooks delivery_hooks = delivery_section_hooks(delivery_sections);
  // The top-level keys in the order "did you mean" prefers them.
  std::vector<ConfigField> fields = {
      {"web", [&](const ConfigNode& v) { parse_web_section(v, config.web); }},
      {"source",
       [&](const ConfigNode& v) { source = v.parsed("a source name", parse_source_name); }},
  };
  for (ConfigField& field : source_section_fields(source_sections)) fields.push_back(field);
  fields.insert(
      fields.end(),
      {
          {"poll", [&](const ConfigNode& v) { parse_poll_section(v, config.poll); }},
          {"billing", [&](const ConfigNode& v) { parse_billing_section(v, config.billing); }},
          {"reports",
           [&](const ConfigNode& v) { parse_reports_section(v, config.reports, delivery_hooks); }},
          {"chargeback",
           [&](const ConfigNode& v) { config.chargeback = parse_chargeback_section(v); }},
      });
  root.walk(fields);
  config.source = finish_source(source, std::move(source_sections), env);
  if (config.reports.leader_election) finish_leader_election(*config.reports.leader_election, env);
  config.delivery = finish_delivery(std::move(delivery_sections), config.reports, env);
  return config;
}

Config load_config(const std::string& path, const Environment& env) {
  const std::string text = read_configured_file(path, kMaxConfigBytes, "config.file");
  if (text.size() > kMaxConfigBytes) {
    fail_config("config.file", shown_path(path) + " is larger than 1 MiB");
  }
  return parse_config(text, env);
}

}  // namespace scalr_usage
