#pragma once
// One PostgreSQL connection as the exporter keeps it, for the postgres source and for leader
// election alike: opened once, never silently reopened by libpqxx, its server notices logged.

#include <pqxx/connection>
#include <pqxx/errorhandler>
#include <string>

#include "pq/dsn.h"

namespace scalr_usage {

// Server notices (warnings during a query) go to the debug log, scrubbed, rather than nowhere.
class NoticeLogger final : public pqxx::errorhandler {
 public:
  NoticeLogger(pqxx::connection_base& connection, const DsnScrubber& scrub)
      : pqxx::errorhandler(connection), scrub_(scrub) {}

  bool operator()(const char message[]) noexcept override;

 private:
  const DsnScrubber& scrub_;
};

// The connection and its notice handler, which must go first: pqxx requires an errorhandler to be
// unregistered before its connection closes, and members are destroyed in reverse order.
// Connecting throws what libpqxx throws (its messages may quote the DSN: scrub them).
struct PqConnection {
  // scrub must outlive the connection.
  PqConnection(const std::string& conninfo, const DsnScrubber& scrub);

  pqxx::connection db;
  NoticeLogger notices;
};

}  // namespace scalr_usage
