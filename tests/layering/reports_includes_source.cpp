// Compiled with the reports library's include path (tests/CMakeLists.txt): a source's internals
// (here the PostgreSQL source) are not the reports' business.
#include "collectors/postgres/postgres_source.h"
