// File: fleet/content.h
//
// Generated content of the fleet's user data: syslog/auth/web-access style
// text log lines and database-like 8 KiB pages of structured records. Both
// are deterministic functions of their arguments. OS and software content is
// never generated: it comes from real files (fleet/source.h).
//
// Thread safety: pure functions (an Rng argument is the caller's).

#ifndef VCSNAP_FLEET_CONTENT_H_
#define VCSNAP_FLEET_CONTENT_H_

#include <cstdint>
#include <string>

#include "fleet/rng.h"

namespace vcsnap::fleet {

inline constexpr uint32_t kDbPageSize = 8192;

// Appends log lines of kind `log_kind` (0 syslog, 1 auth, 2 web access,
// 3 application) to `out` until it holds at least `bytes` more bytes, then
// cuts it to exactly that many. `day` and `host` appear in the lines.
void AppendLogText(Rng& rng, uint32_t log_kind, uint32_t day,
                   const std::string& host, uint64_t bytes, std::string* out);

// Fills out[0..kDbPageSize) with page `page` of a table at `version`
// (a page LSN): a 32-byte header ("VDBP", page, version, row count,
// checksum), rows of "id|name|email|city|amount|timestamp" records from
// the front, and free space (zeros) in the rest. `fill` in [0, 1] is the
// share of the page used by rows; `seed` names the table.
void MakeDbPage(uint64_t seed, uint32_t page, uint32_t version, double fill,
                uint8_t* out);

}  // namespace vcsnap::fleet

#endif  // VCSNAP_FLEET_CONTENT_H_
