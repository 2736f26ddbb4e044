#include "collectors/source.h"

#include "config/error.h"

namespace scalr_usage {

void check_label_length(std::string_view value, std::size_t max_length, std::string_view field,
                        std::string_view key) {
  if (value.size() <= max_length) return;
  throw SourceError(ErrorReason::too_large, std::string(field) + ": " +
                                                std::to_string(value.size()) +
                                                " bytes, longer than " + std::string(key) + " (" +
                                                std::to_string(max_length) + ")");
}

void check_configured_label_lengths(std::string_view section,
                                    const std::vector<std::string>& accounts,
                                    std::size_t max_label_length) {
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    if (accounts[i].size() > max_label_length) {
      fail_config(std::string(section) + ".accounts[" + std::to_string(i) + "]",
                  std::to_string(accounts[i].size()) + " bytes, longer than " +
                      std::string(section) + ".max_label_length (" +
                      std::to_string(max_label_length) + ")");
    }
  }
}

}  // namespace scalr_usage
