// File: util/module.h
//
// LazyModule: a plugin of the program -- a shared object built beside it --
// loaded on its first use, so that the libraries it links (Ceph's, libnbd's
// TLS and XML stack) are not loaded, relocated and resident in every
// process that never needs them. The module exports one C function, `entry`,
// without arguments, returning a pointer to a table of the module (static
// storage); the program uses the objects it makes through their virtual
// interfaces, built from the same sources as its own.
//
// Thread safety: all members may be called from any thread.

#ifndef VCSNAP_UTIL_MODULE_H_
#define VCSNAP_UTIL_MODULE_H_

#include <mutex>
#include <string>
#include <utility>

#include "util/result.h"

namespace vcsnap {

class LazyModule {
 public:
  // `entry` names the function the module exports.
  explicit LazyModule(std::string entry) : entry_(std::move(entry)) {}
  LazyModule(const LazyModule&) = delete;
  LazyModule& operator=(const LazyModule&) = delete;

  // Where the module is, or why it was not found. Forgets an earlier load
  // (a library once loaded stays loaded).
  void SetPath(Result<std::string> path);

  // What the entry function returned, loading the module on the first call.
  // NotSupported with the reason -- the path's error, dlopen's message, or
  // "PATH has no ENTRY" -- when it cannot be loaded (the same reason again
  // on every later call: one attempt per SetPath).
  Result<const void*> Get();

 private:
  const std::string entry_;
  std::mutex mu_;
  Result<std::string> path_ = Status::NotFound("no module path was given");
  const void* table_ = nullptr;  // once loaded
  std::string error_;            // once it failed to load
};

}  // namespace vcsnap

#endif  // VCSNAP_UTIL_MODULE_H_
