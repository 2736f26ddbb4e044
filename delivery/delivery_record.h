#pragma once
// One delivery's state, as kept with the schedule state (reports/schedule_state.h keeps it as an
// opaque JSON object, StoredDelivery::record): the report it delivers, its attempts, when to try
// next, and how it ended. And the pure rules of retrying, so they are tested with a fake clock.

#include <chrono>
#include <optional>
#include <string>

#include "delivery/channel.h"
#include "reports/schedule_state.h"

namespace scalr_usage {

enum class DeliveryStatus { pending, sent, failed };

struct DeliveryRecord {
  WrittenReport report;
  std::string channel;  // "email", "webhook"
  DeliveryStatus status = DeliveryStatus::pending;
  int attempts = 0;
  std::optional<std::chrono::sys_seconds> first_attempt;  // nullopt until attempted
  std::chrono::sys_seconds next_attempt{};                // pending: due at or after this
  std::optional<std::chrono::sys_seconds> finished_at;    // sent or failed
  std::string last_error;  // the channel's reason of the last unsuccessful attempt

  DeliveryKey key() const;
  friend bool operator==(const DeliveryRecord&, const DeliveryRecord&) = default;
};

// A new pending delivery of report by channel, due at now.
DeliveryRecord new_delivery(const WrittenReport& report, const std::string& channel,
                            std::chrono::sys_seconds now);

StoredDelivery encode_delivery(const DeliveryRecord& record);
// Throws std::invalid_argument naming what is wrong (a state written by a newer daemon, a
// hand-edited file).
DeliveryRecord decode_delivery(const StoredDelivery& stored);

// How long a delivery is retried, and how far apart.
struct DeliveryRetryPolicy {
  std::chrono::seconds initial{30};                    // after the first failed attempt, doubling
  std::chrono::seconds max{std::chrono::minutes{30}};  // the doubling stops here
  // reports.delivery_retry_for: after this long since the first attempt, a delivery that still
  // gets "retry" has failed. The last attempt is made at that deadline.
  std::chrono::seconds retry_for{std::chrono::hours{6}};
};

// The record after one attempt made at now that ended with result: sent; failed (permanent, or
// retry past the deadline); else pending again, next at now + the backoff (initial doubling per
// attempt, capped at max, at least the receiver's Retry-After), but never after the deadline.
DeliveryRecord after_attempt(DeliveryRecord record, const DeliveryResult& result,
                             std::chrono::sys_seconds now, const DeliveryRetryPolicy& policy);

bool is_due(const DeliveryRecord& record, std::chrono::sys_seconds now);

}  // namespace scalr_usage
