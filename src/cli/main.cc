// vcsnap: the command-line entry point. Parses flags with CLI11 (whose
// exceptions stay inside this file), runs one subcommand, and maps the outcome
// to the exit codes of SPEC §2: 0 success, 2 bad usage, 1 any other failure,
// with a one-line "vcsnap: error: ..." on stderr.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "util/status.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "vcsnap: error: %s\n", message.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using vcsnap::cli::Command;
  CLI::App app{"vcsnap: VM-centric deduplicating backup of virtual disks"};
  app.set_version_flag("--version", std::string("vcsnap ") + VCSNAP_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global flags are accepted after the subcommand too
  vcsnap::cli::GlobalOptions global;
  app.add_option("-r,--repo", global.repo,
                 "repository location (a local directory)")
      ->envname("VCSNAP_REPO");

  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(vcsnap::cli::MakeInitCommand());
  commands.push_back(vcsnap::cli::MakeBackupCommand());
  commands.push_back(vcsnap::cli::MakeSnapshotsCommand());
  commands.push_back(vcsnap::cli::MakeRestoreCommand());
  commands.push_back(vcsnap::cli::MakeUnlockCommand());
  commands.push_back(vcsnap::cli::MakeForgetCommand());
  commands.push_back(vcsnap::cli::MakeProtectCommand());
  commands.push_back(vcsnap::cli::MakeGcCommand());
  commands.push_back(vcsnap::cli::MakeCompactCommand());
  commands.push_back(vcsnap::cli::MakePdsCommand());
  commands.push_back(vcsnap::cli::MakeCheckCommand());
  commands.push_back(vcsnap::cli::MakeStatsCommand());
  std::vector<std::pair<CLI::App*, Command*>> subs;
  for (auto& c : commands) subs.emplace_back(c->Setup(app), c.get());

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(kExitUsage, std::string(e.what()) + " (see 'vcsnap --help')");
  }

  for (auto& [sub, command] : subs) {
    if (!sub->parsed()) continue;
    vcsnap::Status valid = command->Validate();
    if (!valid.ok()) return Fail(kExitUsage, valid.message());
    vcsnap::Status run = command->Run(global);
    if (!run.ok()) return Fail(kExitFailure, run.message());
    return 0;
  }
  return Fail(kExitUsage, "no command given (see 'vcsnap --help')");
}
