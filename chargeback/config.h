#pragma once
// The `chargeback:` section: the labels a workspace is charged by and the rules that set them.
//
//   chargeback:
//     labels: [team, cost_center]
//     rules:
//       - match: {environment_name: "prod-*"}
//         set: {team: payments, cost_center: CC-100}
//     default: {team: unallocated}
//
// Without the section (or with an empty one) chargeback is off and nothing about it appears in
// metrics or reports.

#include <string>
#include <string_view>
#include <vector>

#include "chargeback/rules.h"
#include "config/node.h"

namespace scalr_usage {

// Label names a chargeback label may not take: those of the usage series it is joined to, the
// ones Prometheus adds (job, instance), and the CSV report's columns, which the labels become
// columns next to. Sorted.
const std::vector<std::string_view>& reserved_chargeback_labels();

// Throws ConfigError naming the key: an invalid or reserved label name, an invalid pattern, an
// unknown match key or label, each under "chargeback.rules[<i>]...".
ChargebackRules parse_chargeback_section(const ConfigNode& section);

}  // namespace scalr_usage
