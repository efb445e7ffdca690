#include "serve/serve.h"

#include <unistd.h>

#include <filesystem>

#include "source/image_source.h"
#include "util/sysinfo.h"

namespace vcsnap {
namespace {

constexpr const char* kPluginName = "nbdkit-vcsnap-plugin.so";

bool Readable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), R_OK) == 0;
}

}  // namespace

Result<std::string> FindServePlugin(const std::string& explicit_path) {
  if (!explicit_path.empty()) {
    if (Readable(explicit_path)) return explicit_path;
    return Status::NotFound("nbdkit plugin " + explicit_path +
                            " is not readable");
  }
  Result<std::string> found =
      FindBesideExecutable(kPluginName, "VCSNAP_NBDKIT_PLUGIN");
  if (!found.ok()) {
    return Status::NotFound("the nbdkit plugin " + found.status().message() +
                            "; pass --plugin PATH");
  }
  return found;
}

Status ValidateServeOptions(const ServeOptions& o) {
  const bool has_socket = !o.socket.empty();
  const bool has_port = o.port != 0;
  if (has_socket && has_port) {
    return Status::InvalidArgument("give --socket or --port, not both");
  }
  if (!has_socket && !has_port && o.run.empty()) {
    return Status::InvalidArgument(
        "serve needs --socket PATH, --port N or --run COMMAND");
  }
  if (!o.address.empty() && !has_port) {
    return Status::InvalidArgument("--address goes with --port");
  }
  if (o.cache_segments == 0 || o.cache_segments > kMaxServeCacheSegments) {
    return Status::InvalidArgument("--cache-segments: 1 to " +
                                   std::to_string(kMaxServeCacheSegments));
  }
  return Status::Ok();
}

Result<std::vector<std::string>> NbdkitCommand(const ServeOptions& o) {
  VCSNAP_RETURN_IF_ERROR(ValidateServeOptions(o));
  const bool has_socket = !o.socket.empty();
  const bool has_port = o.port != 0;
  const std::string nbdkit = FindProgram("nbdkit");
  if (nbdkit.empty()) {
    return Status::NotFound(
        "nbdkit is not installed (Debian: apt install nbdkit)");
  }
  VCSNAP_ASSIGN_OR_RETURN(std::string plugin, FindServePlugin(o.plugin));
  std::vector<std::string> argv = {nbdkit, "--foreground", "--readonly"};
  if (o.verbose) argv.push_back("--verbose");
  if (has_socket) {
    argv.insert(argv.end(), {"--unix", o.socket});
  } else if (has_port) {
    argv.insert(argv.end(), {"--port", std::to_string(o.port)});
    if (!o.address.empty()) argv.insert(argv.end(), {"--ipaddr", o.address});
  } else {
    argv.insert(argv.end(), {"--unix", "-"});  // private socket for --run
  }
  if (!o.run.empty()) argv.insert(argv.end(), {"--run", o.run});
  argv.push_back(plugin);
  argv.push_back("repo=" + o.repo);
  if (!o.key_file.empty()) argv.push_back("key-file=" + o.key_file);
  argv.push_back("vm=" + o.vm);
  argv.push_back("snapshot=" + std::to_string(o.snapshot));
  argv.push_back(std::string("verify=") + (o.verify ? "1" : "0"));
  argv.push_back("cache=" + std::to_string(o.cache_segments));
  argv.push_back("wait=" + std::to_string(o.wait_seconds));
  return argv;
}

std::string ServeUri(const ServeOptions& o) {
  if (!o.socket.empty()) {
    return "nbd+unix:///?socket=" +
           std::filesystem::absolute(o.socket).string();
  }
  if (o.port != 0) {
    const std::string host = o.address.empty() ? "localhost" : o.address;
    return "nbd://" + host + ":" + std::to_string(o.port) + "/";
  }
  return "";
}

}  // namespace vcsnap
