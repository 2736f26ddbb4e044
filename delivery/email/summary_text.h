#pragma once
// The text/plain part of a report message: the figures a reader wants without opening anything,
// one "Name: value" per line so they are easy to read and to check.

#include <string>
#include <vector>

#include "delivery/channel.h"

namespace scalr_usage {

// attached: the attachments' file names; html_body: whether the HTML report is the HTML part.
std::string summary_text(const WrittenReport& report, const std::vector<std::string>& attached,
                         bool html_body);

}  // namespace scalr_usage
