#pragma once
// The SAX handler behind parse_usage_page() (collectors/scalr_api/jsonapi.h); internal to
// collectors/scalr_api. Declared here so that jsonapi.cpp drives the parser and page_reader.cpp
// holds the shape checks.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "collectors/scalr_api/jsonapi.h"
#include "collectors/source.h"

namespace scalr_usage::jsonapi_detail {

// Cuts text to at most max bytes (plus "..."), backing off so no UTF-8 sequence is split.
std::string truncate_utf8(std::string text, std::size_t max);

// The errors of every JSON:API reader here (usage pages, workspace pages): SourceError
// (bad_response) "<path>: <expected>[, got <a short rendering of got>]"; bodies can be large, so
// a value is shown cut to 40 bytes and containers only by their kind.
std::string describe(const nlohmann::json& value);
[[noreturn]] void reject(const std::string& path, std::string_view expected);
[[noreturn]] void reject(const std::string& path, std::string_view expected,
                         const nlohmann::json& got);

// The page after `page` of a paged read (usage, workspaces), from its meta.pagination, or nullopt
// after the last; pages_left is what scalr.max_pages still allows. Throws SourceError
// (bad_response) for a next-page that does not move forward, (too_large) "<context>more than
// <max_pages> pages <what> (scalr.max_pages)" when the read would need more. total-pages, when
// given, lets an oversized result fail on its first page instead of after max_pages requests;
// the page count is checked regardless, as total-pages is optional.
std::optional<int> next_page_of(const std::optional<int>& next_page,
                                const std::optional<int>& total_pages, int page, int pages_left,
                                int max_pages, const std::string& context, std::string_view what);

// Reads one page while nlohmann's SAX parser walks the body, checking every value against the
// documented shape as it comes and keeping only what a UsageItem needs. A DOM of the body would
// be up to ~20 times its size (a page may be scalr.max_response_bytes, 8 MiB by default); this
// keeps the items and a few strings. Values of unknown keys are skipped, however deep. Errors are
// thrown from the callbacks as SourceError(bad_response), named by the path that is wrong.
class PageReader final : public nlohmann::json_sax<nlohmann::json> {
  using json = nlohmann::json;

 public:
  explicit PageReader(std::size_t body_size) : body_size_(body_size) {}

  UsagePage take() &&;

  bool null() override {
    return guarded([&] { return scalar_value(Scalar(json())); });
  }
  bool boolean(bool value) override {
    return guarded([&] { return scalar_value(Scalar(json(value))); });
  }
  bool number_integer(number_integer_t value) override {
    return guarded([&] { return scalar_value(Scalar(json(value))); });
  }
  bool number_unsigned(number_unsigned_t value) override {
    return guarded([&] { return scalar_value(Scalar(json(value), nullptr, value)); });
  }
  bool number_float(number_float_t value, const string_t& /*text*/) override {
    return guarded([&] { return scalar_value(Scalar(json(value))); });
  }
  bool string(string_t& value) override {
    return guarded([&] { return scalar_value(Scalar(json(value), &value)); });
  }
  bool binary(binary_t& /*value*/) override {
    return guarded([&] { return scalar_value(Scalar(json("binary"))); });
  }

  bool start_object(std::size_t /*elements*/) override {
    return guarded([&] { return start(Kind::object); });
  }
  bool start_array(std::size_t /*elements*/) override {
    return guarded([&] { return start(Kind::array); });
  }
  bool key(string_t& key) override {
    if (!error_ && skip_depth_ == 0) frames_.back().key = key;
    return true;
  }
  bool end_object() override {
    return guarded([&] { return end(); });
  }
  bool end_array() override {
    return guarded([&] { return end(); });
  }

  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& error) override;

 private:
  // The first shape error is kept and every later event ignored, so that the parser still reads
  // to the end: a body that is not JSON at all (truncated, say) is reported as such first.
  template <typename Event>
  bool guarded(Event event) {
    if (error_) return true;
    try {
      return event();
    } catch (const SourceError& error) {
      error_ = error;
      return true;
    }
  }

  enum class Kind { object, array };
  // What a container is in the document; skipped containers have no frame (skip_depth_).
  enum class Role {
    document,
    data,
    item,
    attributes,
    relationships,
    account,
    account_data,
    meta,
    pagination,
  };
  struct Frame {
    Role role;
    std::string segment;         // how the path reaches it: "data", "[3]", ".attributes"
    std::string key;             // an object's current key
    std::size_t next_index = 0;  // an array's next element
  };
  // A scalar as it came: json for error messages, and the forms the fields take.
  struct Scalar {
    explicit Scalar(json v, const std::string* t = nullptr,
                    std::optional<std::uint64_t> u = std::nullopt)
        : value(std::move(v)), text(t), unsigned_value(u) {}
    json value;
    const std::string* text;
    std::optional<std::uint64_t> unsigned_value;
  };
  // The parts of the current item, filled in as their values come (last one wins, as in a DOM).
  struct ItemParts {
    std::optional<std::string> type;
    bool attributes = false;
    std::optional<std::string> breakdown_id;
    std::optional<std::string> breakdown_name;
    std::optional<std::string> date;
    std::optional<std::uint64_t> runs_count;
    std::optional<std::uint64_t> runs_seconds;
    bool account_data = false;  // relationships.account.data is an object
    std::optional<std::string> account_type;
    std::optional<std::string> account_id;
  };
  // A scalar field of the shape: where its value goes, and so what it must be.
  struct Field {
    std::variant<std::optional<std::string>*, std::optional<std::uint64_t>*, std::optional<int>*>
        target;
    std::uint64_t minimum = 0;  // of a page number

    std::string expected() const;
  };

  // The path of the frames: "data[3].attributes".
  std::string frame_path() const;
  // How the path goes from the top frame to the value the parser is at: "[3]", ".date", "data".
  std::string segment_for_slot() const;
  // The path of the value the parser is at.
  std::string slot_path() const { return frame_path() + segment_for_slot(); }

  // The role a container at the current slot would have; nullopt: not part of the shape (skip).
  // A scalar at the slot is checked by scalar_value().
  std::optional<Role> container_role() const;
  // The scalar field at the current slot; nullopt when the slot is none (a value to skip).
  std::optional<Field> field_at_slot();
  // Stores scalar in field, or rejects it. null clears the field: absent and null are the same.
  void store(const Field& field, const Scalar& scalar);
  static std::string_view expected_container(Role role);

  bool start(Kind kind);
  bool end();
  bool scalar_value(const Scalar& scalar);
  // The checks that need the whole item, in the order a reader would look.
  void finish_item();

  const std::size_t body_size_;
  std::optional<SourceError> error_;
  std::vector<Frame> frames_;
  std::size_t skip_depth_ = 0;  // > 0 inside a value that is not part of the shape
  ItemParts item_;
  bool data_seen_ = false;
  UsagePage page_;
};

}  // namespace scalr_usage::jsonapi_detail
