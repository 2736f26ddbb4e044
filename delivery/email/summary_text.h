#pragma once
// The text/plain part of a report message: the figures a reader wants without opening anything,
// one "Name: value" per line so they are easy to read and to check.

#include <string>
#include <vector>

#include "delivery/channel.h"

namespace scalr_usage {

// schedule is the schedule's name; attached the attachments' file names.
std::string summary_text(const WrittenReport& report, const std::vector<std::string>& attached,
                         bool html_body);

}  // namespace scalr_usage
