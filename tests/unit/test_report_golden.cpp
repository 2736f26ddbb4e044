// Golden report files (tests/golden/reports/): every format of kReportFormatTable rendered from the
// fixed dataset of report_golden_data.h and compared byte for byte. The `plain` set was written by
// the renderers as they were before chargeback and account names existed; a report without a
// `chargeback:` section and without account names must stay exactly those bytes. Regenerate after
// an intended change with
//   SUE_UPDATE_GOLDEN=1 ./build/tests/report_unit_tests --gtest_filter='ReportGolden*'
// and review the diff (tests/golden/README.md).

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "report_golden_data.h"
#include "report_test_util.h"
#include "reports/formats.h"
#include "reports/render.h"
#include "reports/report.h"

namespace scalr_usage {
namespace {

using namespace report_test;
namespace data = golden_data;

std::filesystem::path golden_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "golden" / "reports";
}

// The accounts out of id order, so the renderers' own ordering is part of what is compared.
Report plain_report() {
  const AccountUsage alpha_before = data::alpha_previous();
  const AccountUsage gamma_before = data::gamma_previous();
  Report r;
  r.generated_at = "2026-11-01T06:00:00Z";
  r.schedule = "monthly: 0 6 1 * *";
  r.period = data::october();
  r.plan = data::plan();
  r.accounts = {build_account_report(data::gamma(), &gamma_before, r.plan),
                build_account_report(data::alpha(), &alpha_before, r.plan),
                build_account_report(data::beta(), nullptr, r.plan)};
  return r;
}

TEST(ReportGolden, WithoutChargebackEveryFormatIsTheGoldenBytes) {
  const Report report = plain_report();
  for (const ReportFormat& format : kReportFormatTable) {
    SCOPED_TRACE(std::string(format.name));
    expect_golden_bytes(golden_dir() / ("plain" + std::string(format.extension)),
                        format.render(report));
  }
}

}  // namespace
}  // namespace scalr_usage
