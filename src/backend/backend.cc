#include "backend/backend.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace vcsnap {
bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

namespace {

// Checks the characters and components of a name or prefix. A prefix may end
// in the middle of a component or right after a '/'.
Status CheckComponents(std::string_view s, bool is_prefix) {
  const std::string quoted = "'" + std::string(s) + "'";
  if (s.size() > 255) {
    return Status::InvalidArgument("object name " + quoted +
                                   " is longer than 255 bytes");
  }
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i < s.size() && s[i] != '/') {
      if (!IsNameChar(s[i])) {
        return Status::InvalidArgument(
            "object name " + quoted +
            " has a character outside [A-Za-z0-9._-/]");
      }
      continue;
    }
    std::string_view comp = s.substr(start, i - start);
    bool last = i == s.size();
    if (comp.empty() && !(last && is_prefix)) {
      return Status::InvalidArgument("object name " + quoted +
                                     " has an empty component");
    }
    if (!comp.empty() && comp.front() == '.') {
      return Status::InvalidArgument("object name " + quoted +
                                     " has a component starting with '.'");
    }
    start = i + 1;
  }
  return Status::Ok();
}

}  // namespace

Status ValidateObjectName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("empty object name");
  return CheckComponents(name, /*is_prefix=*/false);
}

Status ValidateObjectPrefix(std::string_view prefix) {
  if (prefix.empty()) return Status::Ok();
  return CheckComponents(prefix, /*is_prefix=*/true);
}

Status CheckObjectSize(std::string_view op, std::string_view name,
                       uint64_t new_size, uint64_t limit) {
  if (new_size <= limit) return Status::Ok();
  return Status::InvalidArgument(
      std::string(op) + " " + std::string(name) + ": object would be " +
      std::to_string(new_size) + " bytes, over the limit of " +
      std::to_string(limit));
}

Status ErrnoToStatus(std::string_view op, std::string_view what, int err) {
  std::string msg =
      std::string(op) + " " + std::string(what) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return Status::NotFound(msg);
    case EEXIST:
      return Status::AlreadyExists(msg);
    case EAGAIN:
    case EINTR:
    case EBUSY:
    case ETIMEDOUT:
      return Status::IOError(msg, /*retryable=*/true);
    case ENAMETOOLONG:
    case EINVAL:
      return Status::InvalidArgument(msg);
    default:
      return Status::IOError(msg);
  }
}

}  // namespace vcsnap
