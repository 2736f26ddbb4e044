#pragma once
// What the webhook POSTs: a report summary as JSON, in the exporter's own shape or as a Slack
// incoming-webhook message. Pure functions, so the bodies are unit-tested byte for byte.
//
// The `json` shape (README "Report delivery"):
//   {"schedule", "period": {"start", "end", "key"}, "account": {"id", "name"},
//    "usage": {"runs", "run_seconds", "run_hours"},
//    "previous": null | {"period": {...}, "runs", "run_seconds", "run_hours"},
//    "change": null | {"runs", "run_seconds", "run_hours", "runs_relative",
//    "run_seconds_relative"}, "overage_cost": null | {"cents", "amount", "currency"}, "files":
//    [{"format", "name"}]}
// Times are RFC 3339 UTC, `end` exclusive; run_hours = run_seconds / 3600; a relative change is
// (current - previous) / previous, null when the previous value is 0; file names are base names
// (the receiver cannot read the exporter's disk, and the directory layout is nobody's business).

#include <string>

#include "delivery/channel.h"
#include "delivery/webhook/config.h"

namespace scalr_usage {

std::string webhook_json_body(const WrittenReport& report);
// Slack: `text` (the notification and fallback line) plus `blocks`: a header, a section of fields
// (runs, run hours, change, overage cost) and a context line with the file names.
std::string webhook_slack_body(const WrittenReport& report);
std::string webhook_body(const WrittenReport& report, WebhookFormat format);

}  // namespace scalr_usage
