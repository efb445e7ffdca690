// File: backend/local_backend.h
//
// LocalBackend: the embedded default Backend, objects as files below a root
// directory. An object name "vm/web1/c0001" is the file <root>/vm/web1/c0001;
// the directories are created on demand, and a Delete removes the ones it
// leaves empty (below the root), so that years of deletions leave no
// millions of empty directories for List to walk. A writer whose directory a
// concurrent Delete removes between its mkdir and its open makes it again
// (a few attempts). Files whose name starts with '.' are temporaries and are
// invisible.
//
// Durability (backend.h's contract) is implemented so:
//  - Put:    write <dir>/.tmp-*, fsync it, rename over the target, fsync dir;
//  - Create: write and fsync a temporary, link() it to the target (fails
//            atomically with EEXIST), unlink the temporary, fsync dir;
//  - Append: write(2) with O_APPEND; Sync fsyncs the file and its directory.
//            Each Append also starts (without waiting) the writeback of
//            every 8 MiB window of the file it completed (sync_file_range),
//            so a large object's final Sync waits for little;
//  - Delete: unlink, fsync dir.
// A crash can leave .tmp-* files behind; they hold no committed data and are
// never listed. Every errno maps to a Status through one function
// (ErrnoToStatus, backend.h) and every message names the operation and the
// object.
//
// Thread safety: fully thread-safe; no shared mutable state besides the
// temporary-name counter (atomic).

#ifndef VCSNAP_BACKEND_LOCAL_BACKEND_H_
#define VCSNAP_BACKEND_LOCAL_BACKEND_H_

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>

#include "backend/backend.h"

namespace vcsnap {

class LocalBackend final : public Backend {
 public:
  // Opens the backend rooted at `root`. With `create`, makes the directory
  // (and its parents) if missing; otherwise NotFound if it does not exist.
  static Result<std::unique_ptr<LocalBackend>> Open(
      const std::string& root, bool create,
      uint64_t max_object_size = kDefaultMaxObjectSize);

  uint64_t max_object_size() const override { return max_object_size_; }
  Status LowerObjectSizeLimit(uint64_t limit) override {
    max_object_size_ = std::min(max_object_size_, limit);
    return Status::Ok();
  }
  std::string Describe() const override { return "local:" + root_; }
  Status Put(std::string_view name, ByteView data) override;
  Status Create(std::string_view name, ByteView data) override;
  Result<Bytes> Get(std::string_view name) override;
  Status GetInto(std::string_view name, Bytes* out) override;
  Result<Bytes> Read(std::string_view name, uint64_t offset,
                     uint64_t length) override;
  Status ReadInto(std::string_view name, uint64_t offset, uint64_t length,
                  Bytes* out) override;
  Status Append(std::string_view name, ByteView data) override;
  Status Sync(std::string_view name) override;
  Status Delete(std::string_view name) override;
  Result<ObjectInfo> Stat(std::string_view name) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;

  const std::string& root() const { return root_; }

 private:
  LocalBackend(std::string root, uint64_t max_object_size)
      : root_(std::move(root)), max_object_size_(max_object_size) {}

  std::string PathOf(std::string_view name) const;
  // Creates the directories leading to `name` (fsyncing each new one's parent).
  Status MakeParents(std::string_view op, std::string_view name);
  // MakeParents, then open(2) of `path` (in the directory of `name`) with
  // `flags`; both again when a concurrent Delete removed a directory in
  // between. Returns the file descriptor.
  Result<int> OpenInParents(std::string_view op, std::string_view name,
                            const std::string& path, int flags);
  // Removes the directories of `name` that are empty, deepest first, up to
  // (not including) the root.
  void RemoveEmptyParents(std::string_view name);
  // Writes `data` to a fresh, fsynced temporary beside `name`; returns its
  // path.
  Result<std::string> WriteTemp(std::string_view op, std::string_view name,
                                ByteView data);
  Status SyncParentDir(std::string_view op, std::string_view name);
  Status ListDir(const std::string& rel_dir, std::string_view prefix,
                 std::vector<ObjectInfo>* out);

  const std::string root_;
  uint64_t max_object_size_;  // lowered only before the backend is shared
  std::atomic<uint64_t> temp_counter_{0};
};

}  // namespace vcsnap

#endif  // VCSNAP_BACKEND_LOCAL_BACKEND_H_
