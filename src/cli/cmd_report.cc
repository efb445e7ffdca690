// `vcsnap report`: the operator's view of the repository (report/), as text
// on stdout, one JSON object (--json), or a self-contained HTML page
// (--output FILE, written beside and renamed into place, so a web server or
// a cron mail never sees half a page).

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"
#include "fleet/image_file.h"
#include "report/fleet_report.h"
#include "report/html.h"
#include "report/json.h"
#include "report/text.h"
#include "util/sysinfo.h"

namespace vcsnap::cli {
namespace {

class ReportCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "report",
        "what the repository holds and what needs attention (stale or "
        "missing backups, damage, repairs and compactions due, leases left "
        "behind), as text, JSON or an HTML page");
    sub->add_option("--output", output_,
                    "write a self-contained HTML page to this file");
    sub->add_flag("--json", json_, "print one JSON object");
    sub->add_option("--stale-after", stale_hours_,
                    "hours after which a VM's last backup (or a held lease) "
                    "needs attention")
        ->capture_default_str();
    sub->add_option("--verify-after", verify_days_,
                    "days after which data not re-read by `check "
                    "--read-data` needs attention")
        ->capture_default_str();
    sub->add_option("--days", days_, "days of nightly totals to show")
        ->capture_default_str();
    sub->add_option("--tenant", tenant_,
                    "only this tenant's VMs, nothing repository-wide (a "
                    "report to hand to the tenant)");
    sub->add_option("--threads", threads_, "VMs read at once")
        ->capture_default_str();
    sub->add_flag("--isolation", isolation_,
                  "add the storage blocks each VM depends on (N1, N2; reads "
                  "every live recipe)");
    return sub;
  }

  Status Validate() override {
    if (stale_hours_ < 1 || stale_hours_ > 24 * 366) {
      return Status::InvalidArgument("--stale-after must be 1 to 8784 hours");
    }
    if (verify_days_ < 1 || verify_days_ > 3660) {
      return Status::InvalidArgument("--verify-after must be 1 to 3660 days");
    }
    if (threads_ < 1 || threads_ > 256) {
      return Status::InvalidArgument("--threads must be 1 to 256");
    }
    if (days_ < 1 || days_ > 366) {
      return Status::InvalidArgument("--days must be 1 to 366");
    }
    if (isolation_ && !tenant_.empty()) {
      return Status::InvalidArgument(
          "--isolation is repository-wide: not with --tenant");
    }
    if (json_ && !output_.empty()) {
      return Status::InvalidArgument("--json and --output: choose one");
    }
    return Status::Ok();
  }

  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    ReportOptions o;
    o.stale_after_seconds = stale_hours_ * 3600;
    o.history_days = days_;
    o.verify_after_seconds = verify_days_ * 86400;
    o.isolation = isolation_;
    o.threads = threads_;
    o.tenant = tenant_;
    bool progress = false;
    if (StderrIsTerminal()) {
      o.on_vm = [&progress](size_t i, size_t n, const std::string& vm) {
        std::fprintf(stderr, "\rreading VM %zu of %zu: %-40s", i + 1, n,
                     vm.c_str());
        progress = true;
      };
    }
    Result<FleetReport> report = CollectReport(*repo, o);
    if (progress) std::fprintf(stderr, "\n");
    VCSNAP_RETURN_IF_ERROR(report.status());
    if (json_) {
      std::printf("%s\n", ReportJson(*report).dump().c_str());
      return Status::Ok();
    }
    if (output_.empty()) {
      std::printf("%s", RenderText(*report).c_str());
      return Status::Ok();
    }
    VCSNAP_RETURN_IF_ERROR(
        fleet::WriteFileAtomically(output_, AsBytes(RenderHtml(*report)))
            .WithContext("cannot write the report to " + output_));
    std::printf("wrote %s: %zu VMs, %zu need attention (%zu problems)\n",
                output_.c_str(), report->vms.size(), report->findings.size(),
                report->problems());
    return Status::Ok();
  }

 private:
  std::string output_ = {};
  std::string tenant_ = {};
  bool json_ = false;
  bool isolation_ = false;
  uint64_t stale_hours_ = 26;
  uint32_t days_ = 30;
  uint64_t verify_days_ = 31;
  unsigned threads_ = 8;
};

}  // namespace

std::unique_ptr<Command> MakeReportCommand() {
  return std::make_unique<ReportCommand>();
}

}  // namespace vcsnap::cli
