// Key files and `vcsnap key add|list|remove`: how the CLI opens encrypted
// repositories (format/key_slot.h, docs/format/encryption.md).

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"
#include "repo/key_file.h"

namespace vcsnap::cli {

Result<RepoKey> LoadKeyFile(const std::string& path) {
  std::string warning;
  Result<RepoKey> key = ReadKeyFile(path, &warning);
  if (!warning.empty()) {
    std::fprintf(stderr, "vcsnap: warning: %s\n", warning.c_str());
  }
  return key;
}

Result<bool> CreateKeyFileIfAsked(const std::string& path) {
  VCSNAP_ASSIGN_OR_RETURN(bool written, CreateKeyFileIfMissing(path));
  if (written) {
    std::fprintf(stderr,
                 "vcsnap: wrote a new random key to %s; keep a copy of it "
                 "somewhere safe: without it nothing stored with it can be "
                 "read\n",
                 path.c_str());
  }
  return written;
}

Result<std::unique_ptr<Repository>> OpenRepository(
    const GlobalOptions& global) {
  if (global.key_file.empty()) return Repository::Open(global.repo);
  VCSNAP_ASSIGN_OR_RETURN(RepoKey key, LoadKeyFile(global.key_file));
  return Repository::Open(global.repo, &key);
}

namespace {

class KeyCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "key", "key files of an encrypted repository (needs --key-file)");
    sub->require_subcommand(1);
    add_ = sub->add_subcommand(
        "add", "let another key file open the repository (a new key slot)");
    add_->add_option("--new-key-file", new_key_file_,
                     "the key file to add; a new random one is written "
                     "there when the file does not exist")
        ->required();
    list_ = sub->add_subcommand(
        "list", "list the key slots; '*' marks the one --key-file opens");
    remove_ = sub->add_subcommand(
        "remove",
        "revoke a key file: delete its slot (not the one in use, "
        "not the last)");
    remove_->add_option("--slot", slot_, "the slot, as `key list` shows it")
        ->required();
    return sub;
  }

  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    if (!repo->config().encrypted()) {
      return Status::InvalidArgument(global.repo +
                                     " is not encrypted: it has no keys");
    }
    if (add_->parsed()) {
      VCSNAP_RETURN_IF_ERROR(CreateKeyFileIfAsked(new_key_file_).status());
      VCSNAP_ASSIGN_OR_RETURN(RepoKey key, LoadKeyFile(new_key_file_));
      VCSNAP_ASSIGN_OR_RETURN(std::string slot, repo->AddKey(key));
      std::printf("added key slot %s for %s\n", slot.c_str(),
                  new_key_file_.c_str());
      return Status::Ok();
    }
    if (remove_->parsed()) {
      VCSNAP_RETURN_IF_ERROR(repo->RemoveKey(slot_));
      std::printf("removed key slot %s\n", slot_.c_str());
      return Status::Ok();
    }
    VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> slots,
                            repo->ListKeySlots());
    for (const std::string& s : slots) {
      std::printf("%s%s\n", s.c_str(), s == repo->opened_slot() ? " *" : "");
    }
    return Status::Ok();
  }

 private:
  CLI::App* add_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* remove_ = nullptr;
  std::string new_key_file_;
  std::string slot_;
};

}  // namespace

std::unique_ptr<Command> MakeKeyCommand() {
  return std::make_unique<KeyCommand>();
}

}  // namespace vcsnap::cli
