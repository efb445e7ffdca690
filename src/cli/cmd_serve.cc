// File: cli/cmd_serve.cc
//
// `vcsnap serve`: exports a snapshot read-only over NBD (serve/serve.h). The
// process becomes nbdkit (exec), so Ctrl-C or SIGTERM stops the export and
// releases the snapshot's pin; the URI is printed to stderr first.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli/command.h"
#include "recipe/catalog.h"
#include "recipe/names.h"
#include "recipe/snapshot_recipe.h"
#include "serve/serve.h"
#include "util/units.h"

namespace vcsnap::cli {
namespace {

class ServeCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "serve", "export a snapshot read-only over NBD (through nbdkit)");
    sub->add_option("--vm", o_.vm, "VM name")->required();
    sub->add_option("--snapshot", snapshot_, "snapshot ID or 'latest'")
        ->required();
    sub->add_option("--socket", o_.socket, "Unix socket to listen on");
    sub->add_option("--port", o_.port, "TCP port to listen on");
    sub->add_option("--address", o_.address,
                    "address to listen on with --port (default: all)");
    sub->add_option("--run", o_.run,
                    "run this command once serving ($uri names the export), "
                    "then stop");
    sub->add_flag("--verify", o_.verify,
                  "re-hash every chunk read against its fingerprint");
    sub->add_option("--cache-segments", o_.cache_segments,
                    "assembled segments kept in memory (default 32)");
    sub->add_option("--wait", o_.wait_seconds,
                    "seconds to wait for a running backup or forget of the "
                    "VM before giving up (default 60)");
    sub->add_option("--plugin", o_.plugin,
                    "the nbdkit plugin (default: next to vcsnap)");
    sub->add_flag("--verbose", o_.verbose, "nbdkit's debug log");
    return sub;
  }
  Status Validate() override {
    VCSNAP_RETURN_IF_ERROR(ValidateServeOptions(o_));
    return ValidateVmName(o_.vm);
  }
  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    VCSNAP_ASSIGN_OR_RETURN(Catalog catalog,
                            LoadCatalog(repo->backend(), o_.vm));
    VCSNAP_ASSIGN_OR_RETURN(o_.snapshot,
                            ResolveSnapshotId(catalog, o_.vm, snapshot_));
    const CatalogEntry* entry = catalog.Find(o_.snapshot);
    // nbdkit runs in the background from another directory: a local path
    // goes to it absolute, a location with a scheme as given.
    auto absolute = [](const std::string& path) {
      std::error_code ec;
      std::string abs = std::filesystem::absolute(path, ec).string();
      return ec ? path : abs;
    };
    o_.repo = global.repo.find("://") == std::string::npos
                  ? absolute(global.repo)
                  : global.repo;
    if (!global.key_file.empty()) o_.key_file = absolute(global.key_file);
    VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> argv, NbdkitCommand(o_));
    const std::string uri = ServeUri(o_);
    std::fprintf(
        stderr,
        "vcsnap: serving VM %s snapshot %u (%s) read-only%s%s; "
        "forget keeps it while served; %s\n",
        o_.vm.c_str(), o_.snapshot,
        FormatByteSize(entry->logical_bytes).c_str(), uri.empty() ? "" : " at ",
        uri.c_str(),
        o_.run.empty() ? "stop with Ctrl-C" : "until the --run command ends");
    std::fflush(stderr);
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    return Status::IOError("starting " + argv[0] + ": " + std::strerror(errno));
  }

 private:
  ServeOptions o_;
  std::string snapshot_;
};

}  // namespace

std::unique_ptr<Command> MakeServeCommand() {
  return std::make_unique<ServeCommand>();
}

}  // namespace vcsnap::cli
