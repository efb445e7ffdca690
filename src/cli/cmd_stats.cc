// `vcsnap stats`: what a repository holds. For now its parameters and the
// objects stored per top-level area; later layers add dedup statistics.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "repo/repository.h"
#include "util/units.h"

namespace vcsnap::cli {
namespace {

class StatsCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("stats", "summarise the repository");
    sub->add_flag("--json", json_, "print one JSON object");
    return sub;
  }

  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, Repository::Open(global.repo));
    VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                            repo->backend().List(""));
    struct Area {
      uint64_t objects = 0;
      uint64_t bytes = 0;
    };
    std::map<std::string, Area> areas;
    Area total;
    for (const ObjectInfo& o : objects) {
      std::string area = o.name.substr(0, o.name.find('/'));
      areas[area].objects++;
      areas[area].bytes += o.size;
      total.objects++;
      total.bytes += o.size;
    }
    const RepoConfig& c = repo->config();
    if (json_) {
      nlohmann::json j;
      j["repository"] = c.RepoIdHex();
      j["segment_size"] = c.segment_size;
      j["chunk_min"] = c.chunk_min;
      j["chunk_avg"] = c.chunk_avg;
      j["chunk_max"] = c.chunk_max;
      j["compression"] = std::string(CompressionName(c.compression));
      j["container_size"] = c.container_size;
      j["objects"] = total.objects;
      j["stored_bytes"] = total.bytes;
      for (const auto& [name, a] : areas) {
        j["areas"][name] = {{"objects", a.objects}, {"bytes", a.bytes}};
      }
      std::printf("%s\n", j.dump().c_str());
      return Status::Ok();
    }
    std::printf("repository %s at %s\n", c.RepoIdHex().c_str(),
                repo->location().c_str());
    std::printf("  %-10s %10s %12s\n", "area", "objects", "bytes");
    for (const auto& [name, a] : areas) {
      std::printf("  %-10s %10llu %12s\n", name.c_str(),
                  static_cast<unsigned long long>(a.objects),
                  FormatByteSize(a.bytes).c_str());
    }
    std::printf("  %-10s %10llu %12s\n", "total",
                static_cast<unsigned long long>(total.objects),
                FormatByteSize(total.bytes).c_str());
    return Status::Ok();
  }

 private:
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> MakeStatsCommand() {
  return std::make_unique<StatsCommand>();
}

}  // namespace vcsnap::cli
