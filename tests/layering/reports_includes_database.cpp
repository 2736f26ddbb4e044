// Compiled with the reports library's include path (tests/CMakeLists.txt): the reports do not
// talk to a database; the PostgreSQL client pieces (pq/) are for the postgres source and leader
// election only, so tests/report_unit_tests never links libpq.
#include "pq/dsn.h"
