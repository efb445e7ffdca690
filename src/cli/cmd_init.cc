// `vcsnap init`: creates a repository and fixes its parameters.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>

#include "cli/command.h"
#include "format/repo_config.h"
#include "repo/repository.h"
#include "util/units.h"

namespace vcsnap::cli {
namespace {

class InitCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "init", "create a repository; its parameters are fixed for its life");
    sub->add_option("--compression", compression_,
                    "chunk group compression: zstd, lz4 or none")
        ->capture_default_str();
    sub->add_option("--segment-size", segment_size_,
                    "segment size, a power of two (CBT granule unit)")
        ->capture_default_str();
    sub->add_option("--avg-chunk", avg_chunk_,
                    "average content-defined chunk size, a power of two")
        ->capture_default_str();
    sub->add_option("--container-size", container_size_,
                    "target size of a VM store container")
        ->capture_default_str();
    sub->add_option("--encryption", encryption_,
                    "aes-256-gcm or none; default: aes-256-gcm when a key "
                    "file is given (--key-file / VCSNAP_KEY_FILE), else none");
    sub->add_option("--block-size", block_size_,
                    "largest data block (storage object) of a container, "
                    "1MiB..128MiB: the unit of the fault-isolation model")
        ->capture_default_str();
    return sub;
  }

  Status Validate() override {
    if (encryption_ != "" && encryption_ != "none" &&
        encryption_ != "aes-256-gcm") {
      return Status::InvalidArgument("unknown --encryption '" + encryption_ +
                                     "' (expected aes-256-gcm or none)");
    }
    config_ = RepoConfig::NewDefault();
    VCSNAP_ASSIGN_OR_RETURN(config_.compression,
                            ParseCompression(compression_));
    VCSNAP_ASSIGN_OR_RETURN(uint64_t seg, ParseByteSize(segment_size_));
    VCSNAP_ASSIGN_OR_RETURN(uint64_t avg, ParseByteSize(avg_chunk_));
    VCSNAP_ASSIGN_OR_RETURN(config_.container_size,
                            ParseByteSize(container_size_));
    VCSNAP_ASSIGN_OR_RETURN(config_.max_object_size,
                            ParseByteSize(block_size_));
    if (seg > UINT32_MAX || avg > UINT32_MAX / 4) {
      return Status::InvalidArgument("--segment-size or --avg-chunk too large");
    }
    config_.segment_size = static_cast<uint32_t>(seg);
    // min/max follow the average in the ratio of the measured defaults
    // (3/4 and 16x, max capped at the segment size).
    config_.chunk_avg = static_cast<uint32_t>(avg);
    config_.chunk_min = std::max<uint32_t>(1, config_.chunk_avg / 4 * 3);
    config_.chunk_max = static_cast<uint32_t>(
        std::min<uint64_t>(uint64_t{config_.chunk_avg} * 16, seg));
    return config_.Validate();
  }

  Status Run(const GlobalOptions& global) override {
    const bool encrypt = encryption_ == "aes-256-gcm" ||
                         (encryption_.empty() && !global.key_file.empty());
    if (encrypt && global.key_file.empty()) {
      return Status::InvalidArgument(
          "--encryption aes-256-gcm needs --key-file PATH (a new random key "
          "is written there when the file does not exist)");
    }
    if (!encrypt && !global.key_file.empty()) {
      return Status::InvalidArgument(
          "--encryption none, but a key file is given (--key-file or "
          "VCSNAP_KEY_FILE)");
    }
    std::unique_ptr<Repository> repo;
    if (encrypt) {
      config_.UseEncryption();
      VCSNAP_ASSIGN_OR_RETURN(bool created,
                              CreateKeyFileIfAsked(global.key_file));
      Result<RepoKey> key = LoadKeyFile(global.key_file);
      Result<std::unique_ptr<Repository>> made =
          key.ok() ? Repository::Init(global.repo, config_, &*key)
                   : Result<std::unique_ptr<Repository>>(key.status());
      if (!made.ok()) {
        // A key written for a repository that was not made would only
        // mislead: remove it again.
        if (created) std::remove(global.key_file.c_str());
        return made.status();
      }
      repo = std::move(*made);
    } else {
      VCSNAP_ASSIGN_OR_RETURN(repo, Repository::Init(global.repo, config_));
    }
    const RepoConfig& c = repo->config();
    std::printf(
        "created vcsnap repository %s at %s\n"
        "  segment size   %s\n"
        "  chunks         gear CDC, min %s / avg %s / max %s, %s\n"
        "  compression    %s\n"
        "  containers     %s, blocks of at most %s\n"
        "  encryption     %s\n",
        c.RepoIdHex().c_str(), global.repo.c_str(),
        FormatByteSize(c.segment_size).c_str(),
        FormatByteSize(c.chunk_min).c_str(),
        FormatByteSize(c.chunk_avg).c_str(),
        FormatByteSize(c.chunk_max).c_str(),
        c.encrypted() ? "HMAC-SHA256 (keyed)" : "SHA-256",
        std::string(CompressionName(c.compression)).c_str(),
        FormatByteSize(c.container_size).c_str(),
        FormatByteSize(c.max_object_size).c_str(),
        c.encrypted() ? ("AES-256-GCM, key file " + global.key_file).c_str()
                      : "none");
    return Status::Ok();
  }

 private:
  std::string compression_ = "zstd";
  std::string segment_size_ = "2MiB";
  std::string avg_chunk_ = "4KiB";
  std::string container_size_ = "1GiB";
  std::string block_size_ = "64MiB";
  std::string encryption_;  // "", "none" or "aes-256-gcm"
  RepoConfig config_;
};

}  // namespace

std::unique_ptr<Command> MakeInitCommand() {
  return std::make_unique<InitCommand>();
}

}  // namespace vcsnap::cli
