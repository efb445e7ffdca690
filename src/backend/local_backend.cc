#include "backend/local_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vcsnap {
namespace {

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::string_view ParentOf(std::string_view name) {
  size_t slash = name.rfind('/');
  return slash == std::string_view::npos ? std::string_view()
                                         : name.substr(0, slash);
}

Status WriteAll(int fd, ByteView data, std::string_view op,
                std::string_view what) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(op, what, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Starts (does not wait for) writeback of every whole kWritebackWindow of
// the file that the append of [from, from + length) completed, so that the
// Sync that commits a large object waits for its last window, not for all
// of it: the disk writes while the writer computes. Durability is unchanged
// (only Sync promises it); an error here is ignored, Sync reports it.
constexpr uint64_t kWritebackWindow = 8u << 20;
void StartWriteback(int fd, uint64_t from, uint64_t length) {
  const uint64_t begin = from / kWritebackWindow * kWritebackWindow;
  const uint64_t end = (from + length) / kWritebackWindow * kWritebackWindow;
  if (end > begin) {
    ::sync_file_range(fd, static_cast<off_t>(begin),
                      static_cast<off_t>(end - begin), SYNC_FILE_RANGE_WRITE);
  }
}

// Reads up to `length` bytes at `offset`; stops early only at end of file.
Status PreadAll(int fd, uint64_t offset, uint64_t length, Bytes* out,
                std::string_view op, std::string_view what) {
  out->resize(length);
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out->data() + done, length - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(op, what, errno);
    }
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
  }
  out->resize(done);
  return Status::Ok();
}

Status FsyncPath(const std::string& path, std::string_view op,
                 std::string_view what) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(op, what, errno);
  if (::fsync(fd.get()) != 0) return ErrnoToStatus(op, what, errno);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<LocalBackend>> LocalBackend::Open(
    const std::string& root, bool create, uint64_t max_object_size) {
  if (root.empty()) return Status::InvalidArgument("empty repository path");
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  if (create) {
    // mkdir -p, component by component.
    for (size_t i = 1; i <= r.size(); ++i) {
      if (i == r.size() || r[i] == '/') {
        std::string part = r.substr(0, i);
        if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
          return ErrnoToStatus("create directory", part, errno);
        }
      }
    }
  }
  struct stat st;
  if (::stat(r.c_str(), &st) != 0) return ErrnoToStatus("open", r, errno);
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("open " + r + ": not a directory");
  }
  return std::unique_ptr<LocalBackend>(new LocalBackend(r, max_object_size));
}

std::string LocalBackend::PathOf(std::string_view name) const {
  std::string p = root_;
  if (!name.empty()) {
    p += '/';
    p += name;
  }
  return p;
}

Status LocalBackend::SyncParentDir(std::string_view op, std::string_view name) {
  return FsyncPath(PathOf(ParentOf(name)), op, name);
}

Status LocalBackend::MakeParents(std::string_view op, std::string_view name) {
  std::string_view parent = ParentOf(name);
  for (size_t i = 0; i <= parent.size(); ++i) {
    if (i != parent.size() && parent[i] != '/') continue;
    std::string_view rel = parent.substr(0, i);
    if (rel.empty()) continue;
    std::string path = PathOf(rel);
    if (::mkdir(path.c_str(), 0755) == 0) {
      // A new directory entry is durable once its parent is synced.
      VCSNAP_RETURN_IF_ERROR(FsyncPath(PathOf(ParentOf(rel)), op, name));
    } else if (errno != EEXIST) {
      return ErrnoToStatus(op, name, errno);
    }
  }
  return Status::Ok();
}

Result<int> LocalBackend::OpenInParents(std::string_view op,
                                        std::string_view name,
                                        const std::string& path, int flags) {
  constexpr int kAttempts = 16;
  for (int attempt = 1;; ++attempt) {
    Status made = MakeParents(op, name);
    if (made.ok()) {
      const int fd = ::open(path.c_str(), flags, 0644);
      if (fd >= 0) return fd;
      made = ErrnoToStatus(op, name, errno);
    }
    // NotFound: a directory was removed under us by a Delete that emptied it.
    if (!made.IsNotFound() || attempt == kAttempts) return made;
  }
}

void LocalBackend::RemoveEmptyParents(std::string_view name) {
  for (std::string_view dir = ParentOf(name); !dir.empty();
       dir = ParentOf(dir)) {
    // Fails (ENOTEMPTY, ENOENT, ...) where another object still lives.
    if (::rmdir(PathOf(dir).c_str()) != 0) return;
  }
}

Result<std::string> LocalBackend::WriteTemp(std::string_view op,
                                            std::string_view name,
                                            ByteView data) {
  std::string_view parent = ParentOf(name);
  std::string tmp = PathOf(parent) + "/.tmp-" + std::to_string(::getpid()) +
                    "-" + std::to_string(temp_counter_.fetch_add(1));
  VCSNAP_ASSIGN_OR_RETURN(
      int raw,
      OpenInParents(op, name, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC));
  Fd fd(raw);
  Status s = WriteAll(fd.get(), data, op, name);
  if (s.ok() && ::fsync(fd.get()) != 0) s = ErrnoToStatus(op, name, errno);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return tmp;
}

Status LocalBackend::Put(std::string_view name, ByteView data) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  VCSNAP_RETURN_IF_ERROR(
      CheckObjectSize("put", name, data.size(), max_object_size_));
  VCSNAP_ASSIGN_OR_RETURN(std::string tmp, WriteTemp("put", name, data));
  if (::rename(tmp.c_str(), PathOf(name).c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoToStatus("put", name, err);
  }
  return SyncParentDir("put", name);
}

Status LocalBackend::Create(std::string_view name, ByteView data) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  VCSNAP_RETURN_IF_ERROR(
      CheckObjectSize("create", name, data.size(), max_object_size_));
  VCSNAP_ASSIGN_OR_RETURN(std::string tmp, WriteTemp("create", name, data));
  int rc = ::link(tmp.c_str(), PathOf(name).c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (err == EEXIST) {
      return Status::AlreadyExists("create " + std::string(name) +
                                   ": object exists");
    }
    return ErrnoToStatus("create", name, err);
  }
  return SyncParentDir("create", name);
}

Result<Bytes> LocalBackend::Get(std::string_view name) {
  Bytes out;
  VCSNAP_RETURN_IF_ERROR(GetInto(name, &out));
  return out;
}

Status LocalBackend::GetInto(std::string_view name, Bytes* out) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  Fd fd(::open(PathOf(name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus("get", name, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoToStatus("get", name, errno);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_object_size_) {
    return Status::Corruption(
        "get " + std::string(name) + ": object is " + std::to_string(size) +
        " bytes, over the limit of " + std::to_string(max_object_size_));
  }
  return PreadAll(fd.get(), 0, size, out, "get", name);
}

Result<Bytes> LocalBackend::Read(std::string_view name, uint64_t offset,
                                 uint64_t length) {
  Bytes out;
  VCSNAP_RETURN_IF_ERROR(ReadInto(name, offset, length, &out));
  return out;
}

Status LocalBackend::ReadInto(std::string_view name, uint64_t offset,
                              uint64_t length, Bytes* out) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  Fd fd(::open(PathOf(name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus("read", name, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoToStatus("read", name, errno);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset >= size) {
    out->clear();
    return Status::Ok();
  }
  return PreadAll(fd.get(), offset, std::min(length, size - offset), out,
                  "read", name);
}

Status LocalBackend::Append(std::string_view name, ByteView data) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  // Refuse before O_CREAT can leave an empty object behind.
  VCSNAP_RETURN_IF_ERROR(
      CheckObjectSize("append", name, data.size(), max_object_size_));
  VCSNAP_ASSIGN_OR_RETURN(
      int raw, OpenInParents("append", name, PathOf(name),
                             O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC));
  Fd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoToStatus("append", name, errno);
  VCSNAP_RETURN_IF_ERROR(CheckObjectSize(
      "append", name, static_cast<uint64_t>(st.st_size) + data.size(),
      max_object_size_));
  VCSNAP_RETURN_IF_ERROR(WriteAll(fd.get(), data, "append", name));
  StartWriteback(fd.get(), static_cast<uint64_t>(st.st_size), data.size());
  return Status::Ok();
}

Status LocalBackend::Sync(std::string_view name) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  VCSNAP_RETURN_IF_ERROR(FsyncPath(PathOf(name), "sync", name));
  return SyncParentDir("sync", name);
}

Status LocalBackend::Delete(std::string_view name) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  if (::unlink(PathOf(name).c_str()) != 0) {
    return ErrnoToStatus("delete", name, errno);
  }
  Status synced = SyncParentDir("delete", name);
  // A concurrent Delete may have removed the emptied directory already.
  if (!synced.ok() && !synced.IsNotFound()) return synced;
  RemoveEmptyParents(name);
  return Status::Ok();
}

Result<ObjectInfo> LocalBackend::Stat(std::string_view name) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  struct stat st;
  if (::stat(PathOf(name).c_str(), &st) != 0) {
    return ErrnoToStatus("stat", name, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::NotFound("stat " + std::string(name) + ": no such object");
  }
  return ObjectInfo{std::string(name), static_cast<uint64_t>(st.st_size)};
}

Status LocalBackend::ListDir(const std::string& rel_dir,
                             std::string_view prefix,
                             std::vector<ObjectInfo>* out) {
  std::string path = PathOf(rel_dir);
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return ErrnoToStatus("list", rel_dir.empty() ? "/" : rel_dir, errno);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, ::closedir);
  Status status;
  while (true) {
    errno = 0;
    struct dirent* e = ::readdir(dir);
    if (e == nullptr) {
      if (errno != 0) return ErrnoToStatus("list", path, errno);
      break;
    }
    if (e->d_name[0] == '.') continue;  // ., .., temporaries
    std::string rel = rel_dir.empty() ? e->d_name : rel_dir + "/" + e->d_name;
    // Prune subtrees that cannot hold a match.
    size_t common = std::min(rel.size(), prefix.size());
    if (rel.compare(0, common, prefix.substr(0, common)) != 0) continue;
    struct stat st;
    if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile
      return ErrnoToStatus("list", rel, errno);
    }
    if (S_ISDIR(st.st_mode)) {
      VCSNAP_RETURN_IF_ERROR(ListDir(rel, prefix, out));
    } else if (S_ISREG(st.st_mode) && rel.starts_with(prefix)) {
      out->push_back(ObjectInfo{rel, static_cast<uint64_t>(st.st_size)});
    }
  }
  return Status::Ok();
}

Result<std::vector<ObjectInfo>> LocalBackend::List(std::string_view prefix) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectPrefix(prefix));
  std::vector<ObjectInfo> out;
  VCSNAP_RETURN_IF_ERROR(ListDir(std::string(ParentOf(prefix)), prefix, &out));
  std::sort(
      out.begin(), out.end(),
      [](const ObjectInfo& a, const ObjectInfo& b) { return a.name < b.name; });
  return out;
}

}  // namespace vcsnap
