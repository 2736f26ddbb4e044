#include "pq/connection.h"

#include "pq/messages.h"
#include "util/log.h"

namespace scalr_usage {

bool NoticeLogger::operator()(const char message[]) noexcept {
  try {
    log::debug("PostgreSQL notice", {{"message", scrub_(one_line(message))}});
  } catch (...) {  // a notice must never take the caller down
  }
  return false;  // handled; no older handler needs it
}

PqConnection::PqConnection(const std::string& conninfo, const DsnScrubber& scrub)
    : db(conninfo), notices(db, scrub) {
  // pqxx 6 would otherwise reconnect by itself inside a later statement. With that off, the
  // libpq handle stays the same from here to the destructor, which is what makes cancelling from
  // a stopping thread safe, and what keeps a session-level advisory lock from being lost
  // unnoticed (a new session holds no lock). The call is deprecated in pqxx 6 but is the only
  // switch there is.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  db.inhibit_reactivation(true);
#pragma GCC diagnostic pop
}

}  // namespace scalr_usage
