// File: repo/key_file.h
//
// Key files on the local file system: the operator's secret that opens an
// encrypted repository (format/key_slot.h for what the bytes must be). Used
// by the CLI and by the `vcsnap serve` plugin.
//
// Thread safety: plain functions; concurrent creation of one path is safe
// (exactly one creator wins, O_EXCL).

#ifndef VCSNAP_REPO_KEY_FILE_H_
#define VCSNAP_REPO_KEY_FILE_H_

#include <string>

#include "repo/repository.h"
#include "util/result.h"

namespace vcsnap {

// The key in the file at `path`: at most 4096 bytes of a regular file (the
// size is checked before reading). When others may read the file, *warning
// (if given) says so; it is left alone otherwise.
Result<RepoKey> ReadKeyFile(const std::string& path,
                            std::string* warning = nullptr);

// Writes a new random key file at `path` (mode 0600, never over an existing
// file; the file and its directory entry synced before returning). True when
// written, false when `path` already exists.
Result<bool> CreateKeyFileIfMissing(const std::string& path);

}  // namespace vcsnap

#endif  // VCSNAP_REPO_KEY_FILE_H_
