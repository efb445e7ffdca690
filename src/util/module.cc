#include "util/module.h"

#include <dlfcn.h>

namespace vcsnap {

void LazyModule::SetPath(Result<std::string> path) {
  std::lock_guard lock(mu_);
  path_ = std::move(path);
  table_ = nullptr;
  error_.clear();
}

Result<const void*> LazyModule::Get() {
  std::lock_guard lock(mu_);
  if (table_ == nullptr && error_.empty()) {
    if (!path_.ok()) {
      error_ = path_.status().message();
    } else if (void* h = ::dlopen(path_->c_str(), RTLD_NOW | RTLD_LOCAL)) {
      auto entry =
          reinterpret_cast<const void* (*)()>(::dlsym(h, entry_.c_str()));
      if (entry != nullptr) table_ = entry();
      if (table_ == nullptr) error_ = *path_ + " has no " + entry_;
    } else {
      const char* why = ::dlerror();
      error_ = why != nullptr ? why : *path_;
    }
  }
  if (table_ == nullptr) return Status::NotSupported(error_);
  return table_;
}

}  // namespace vcsnap
