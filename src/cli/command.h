// File: cli/command.h
//
// The shape of a vcsnap subcommand. main.cc builds the CLI11 parser, asks
// every command to declare its flags (Setup), and after parsing runs the one
// chosen: Validate() checks flag values (failure = bad usage, exit 2), Run()
// does the work (failure = exit 1). Both return a Status whose message is the
// one-line error printed to stderr.
//
// Thread safety: commands run on the main thread.

#ifndef VCSNAP_CLI_COMMAND_H_
#define VCSNAP_CLI_COMMAND_H_

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "pds/pds_index.h"
#include "repo/repository.h"
#include "util/result.h"
#include "util/status.h"

namespace CLI {
class App;
}

namespace vcsnap::cli {

struct GlobalOptions {
  std::string repo;      // --repo or VCSNAP_REPO
  std::string key_file;  // --key-file or VCSNAP_KEY_FILE; empty: none
};

class Command {
 public:
  virtual ~Command() = default;
  // Adds the subcommand and its flags to `app`; returns the subcommand.
  virtual CLI::App* Setup(CLI::App& app) = 0;
  virtual Status Validate() { return Status::Ok(); }
  virtual Status Run(const GlobalOptions& global) = 0;
};

std::unique_ptr<Command> MakeInitCommand();
std::unique_ptr<Command> MakeStatsCommand();
std::unique_ptr<Command> MakeBackupCommand();
std::unique_ptr<Command> MakeSnapshotsCommand();
std::unique_ptr<Command> MakeRestoreCommand();
std::unique_ptr<Command> MakeUnlockCommand();
std::unique_ptr<Command> MakeServeCommand();
std::unique_ptr<Command> MakePdsCommand();
std::unique_ptr<Command> MakeForgetCommand();
std::unique_ptr<Command> MakeGcCommand();
std::unique_ptr<Command> MakeProtectCommand();
std::unique_ptr<Command> MakeCompactCommand();
std::unique_ptr<Command> MakeCheckCommand();
std::unique_ptr<Command> MakeRecoverCommand();
std::unique_ptr<Command> MakeIsolationCommand();
std::unique_ptr<Command> MakeKeyCommand();
std::unique_ptr<Command> MakeTenantCommand();
std::unique_ptr<Command> MakeReportCommand();

// Opens global.repo, with the key in global.key_file when one is given
// (cmd_key.cc).
Result<std::unique_ptr<Repository>> OpenRepository(const GlobalOptions& global);
// ReadKeyFile (repo/key_file.h), its warning printed on stderr.
Result<RepoKey> LoadKeyFile(const std::string& path);
// CreateKeyFileIfMissing, saying on stderr when a new key was written.
Result<bool> CreateKeyFileIfAsked(const std::string& path);

// The PDS index in force, for backups: "memory" (in-process table), "file"
// (low-memory sorted-file lookups) or a memcached location (shared across
// the cluster; when the generation in force is not loaded there or no
// server answers, says so on stderr and falls back to "file"); null when
// there is no PDS yet.
Result<std::unique_ptr<PdsIndex>> LoadPdsIndex(Repository& repo,
                                               const std::string& mode);

}  // namespace vcsnap::cli

#endif  // VCSNAP_CLI_COMMAND_H_
