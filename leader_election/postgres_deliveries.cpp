// PostgresLeadership's delivery table (leader_election/state_table.h, kDeliveryTable): the
// deliveries are recorded like the written periods, by the session holding the lock only.
#include <pqxx/pqxx>

#include "leader_election/postgres_leadership.h"
#include "leader_election/state_table.h"
#include "pq/connection.h"
#include "util/log.h"

namespace scalr_usage {

namespace {

std::string sql(std::string_view text) { return std::string(text); }

}  // namespace

void PostgresLeadership::ensure_delivery_table(pqxx::transaction_base& transaction) {
  if (transaction.exec1(sql(leader_sql::kDeliveryTableExists))[0].as<bool>()) return;
  try {
    transaction.exec(sql(leader_sql::kCreateDeliveryTable));
    log::info("created the report delivery table",
              {{"table", std::string(leader_sql::kDeliveryTable)}});
  } catch (const pqxx::sql_error& error) {
    // A nontransaction: the failed statement leaves the session usable.
    log::warn(
        "cannot create the report delivery table; reports are written, deliveries wait "
        "until it exists (etc/postgres/report_state.sql)",
        {{"table", std::string(leader_sql::kDeliveryTable)}, {"error", scrubbed(error.what())}});
  }
}

void PostgresLeadership::load_deliveries(pqxx::transaction_base& transaction,
                                         ScheduleState& state) {
  if (!transaction.exec1(sql(leader_sql::kDeliveryTableExists))[0].as<bool>()) return;
  std::vector<DeliveryRow> rows;
  for (const pqxx::row& row :
       transaction.exec_params(sql(leader_sql::kLoadDeliveries), lock_key_)) {
    for (const pqxx::field& field : row) {
      if (field.is_null()) {
        throw ScheduleStateError("table " + std::string(leader_sql::kDeliveryTable) +
                                 " has a null value");
      }
    }
    rows.push_back(DeliveryRow{DeliveryKey{row[0].as<std::string>(), row[1].as<std::string>(),
                                           row[2].as<std::string>(), row[3].as<std::string>()},
                               StoredDelivery{row[4].as<bool>(), row[5].as<std::string>()}});
  }
  add_delivery_rows(state, rows);
}

void PostgresLeadership::prune_deliveries(const std::string& schedule,
                                          const std::string& period_key) {
  const std::lock_guard lock(mutex_);
  if (!leader_ || !connection_) return;
  try {
    pqxx::nontransaction transaction(connection_->db, "leader_prune_deliveries");
    transaction.exec_params(sql(leader_sql::kPruneDeliveries), lock_key_, schedule, period_key);
  } catch (const std::exception&) {
    // Best effort: the rows are tiny, and the next prune tries again.
  }
}

}  // namespace scalr_usage
