// File: serve/serve.h
//
// `vcsnap serve`: exports one committed snapshot read-only over NBD through
// nbdkit and this project's plugin (nbdkit_plugin.cc), so that a VM can boot
// from its backup, or its files be read, without a full restore first:
//   nbdkit --foreground --readonly [-U SOCKET | -p PORT [-i ADDRESS] | -U -]
//          [--run CMD] PLUGIN repo=... vm=... snapshot=ID [verify=1] ...
// The plugin pins the snapshot while it runs (recipe/pin.h).
//
// Thread safety: pure functions.

#ifndef VCSNAP_SERVE_SERVE_H_
#define VCSNAP_SERVE_SERVE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "util/result.h"

namespace vcsnap {

// The most assembled segments a server keeps (`cache_segments`).
inline constexpr uint64_t kMaxServeCacheSegments = 4096;

struct ServeOptions {
  std::string repo;      // repository path
  std::string key_file;  // encrypted repository: its key file (absolute)
  std::string vm;
  uint32_t snapshot = 0;
  std::string socket;   // Unix socket path, or
  uint16_t port = 0;    // TCP port (with `address`, default all addresses)
  std::string address;  // only with `port`
  std::string run;      // nbdkit --run: a command to run once serving
  bool verify = false;  // re-hash every chunk read
  uint64_t cache_segments = 32;
  uint64_t wait_seconds = 60;  // for the VM's lease, to pin the snapshot
  std::string plugin;          // the plugin's path; empty: FindServePlugin
  bool verbose = false;        // nbdkit -v
};

// The plugin to load: `explicit_path` if given, else $VCSNAP_NBDKIT_PLUGIN,
// else nbdkit-vcsnap-plugin.so next to the running executable, else in
// ../lib/vcsnap/ beside it. NotFound naming the places looked at.
Result<std::string> FindServePlugin(const std::string& explicit_path);

// InvalidArgument for contradictory or missing listening options, or a
// cache size outside 1..kMaxServeCacheSegments.
Status ValidateServeOptions(const ServeOptions& options);

// The nbdkit command line for `options` (argv[0] is nbdkit's full path).
// InvalidArgument for contradictory options; NotFound without nbdkit or the
// plugin.
Result<std::vector<std::string>> NbdkitCommand(const ServeOptions& options);

// The NBD URI clients use ("nbd+unix:///?socket=..." or "nbd://host:port/");
// empty with --run and neither socket nor port (nbdkit's private socket).
std::string ServeUri(const ServeOptions& options);

}  // namespace vcsnap

#endif  // VCSNAP_SERVE_SERVE_H_
