#include "fleet/content.h"

#include <cstdio>
#include <cstring>

#include "util/checksum.h"
#include "util/coding.h"

namespace vcsnap::fleet {
namespace {

const char* const kDaemons[] = {"systemd", "cron",     "kernel",   "sshd",
                                "nginx",   "postgres", "dhclient", "rsyslogd"};
const char* const kUsers[] = {"root", "admin",  "deploy",   "alice",
                              "bob",  "backup", "www-data", "postgres"};
const char* const kPaths[] = {"/",
                              "/index.html",
                              "/api/v1/items",
                              "/api/v1/login",
                              "/static/app.js",
                              "/static/style.css",
                              "/images/logo.png",
                              "/health",
                              "/api/v1/orders?page=2"};
const char* const kAgents[] = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0",
    "curl/7.88.1", "Prometheus/2.42.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"};
const char* const kNames[] = {
    "Smith", "Garcia", "Muller", "Rossi",  "Wang",     "Kumar",   "Silva",
    "Novak", "Tanaka", "Dubois", "Jensen", "Kowalski", "Ivanova", "Okafor"};
const char* const kCities[] = {"Berlin", "Lyon",  "Osaka", "Austin", "Porto",
                               "Krakow", "Lagos", "Pune",  "Leeds",  "Gent"};
const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

template <size_t N>
const char* Pick(Rng& rng, const char* const (&a)[N]) {
  return a[rng.Uniform(N)];
}

}  // namespace

void AppendLogText(Rng& rng, uint32_t log_kind, uint32_t day,
                   const std::string& host, uint64_t bytes, std::string* out) {
  const size_t target = out->size() + bytes;
  char line[512];
  uint32_t sec = static_cast<uint32_t>(rng.Uniform(86400));
  while (out->size() < target) {
    sec = (sec + static_cast<uint32_t>(rng.Uniform(40))) % 86400;
    const uint32_t h = sec / 3600, m = (sec / 60) % 60, s = sec % 60;
    const uint32_t mon = (day / 30) % 12, mday = 1 + day % 28;
    int n = 0;
    switch (log_kind % 4) {
      case 0:
        n = std::snprintf(
            line, sizeof line, "%s %2u %02u:%02u:%02u %s %s[%u]: %s\n",
            kMonths[mon], mday, h, m, s, host.c_str(), Pick(rng, kDaemons),
            static_cast<unsigned>(100 + rng.Uniform(30000)),
            rng.Chance(0.5) ? "Started Daily apt upgrade and clean activities."
                            : "session opened for user root(uid=0) by (uid=0)");
        break;
      case 1:
        n = std::snprintf(
            line, sizeof line,
            "%s %2u %02u:%02u:%02u %s sshd[%u]: Accepted publickey for %s "
            "from 10.%u.%u.%u port %u ssh2: ED25519 SHA256:%016llx\n",
            kMonths[mon], mday, h, m, s, host.c_str(),
            static_cast<unsigned>(1000 + rng.Uniform(60000)), Pick(rng, kUsers),
            static_cast<unsigned>(rng.Uniform(256)),
            static_cast<unsigned>(rng.Uniform(256)),
            static_cast<unsigned>(rng.Uniform(256)),
            static_cast<unsigned>(1024 + rng.Uniform(60000)),
            static_cast<unsigned long long>(rng.Next()));
        break;
      case 2:
        n = std::snprintf(
            line, sizeof line,
            "192.168.%u.%u - - [%02u/%s/2026:%02u:%02u:%02u +0000] \"GET %s "
            "HTTP/1.1\" %u %u \"-\" \"%s\"\n",
            static_cast<unsigned>(rng.Uniform(256)),
            static_cast<unsigned>(rng.Uniform(256)), mday, kMonths[mon], h, m,
            s, Pick(rng, kPaths), rng.Chance(0.9) ? 200u : 404u,
            static_cast<unsigned>(rng.Uniform(90000)), Pick(rng, kAgents));
        break;
      default:
        n = std::snprintf(
            line, sizeof line,
            "2026-%02u-%02uT%02u:%02u:%02u.%03uZ INFO app.worker "
            "job=%llu user=%s duration_ms=%u status=ok items=%u\n",
            mon + 1, mday, h, m, s, static_cast<unsigned>(rng.Uniform(1000)),
            static_cast<unsigned long long>(rng.Uniform(1000000)),
            Pick(rng, kUsers), static_cast<unsigned>(rng.Uniform(5000)),
            static_cast<unsigned>(rng.Uniform(500)));
        break;
    }
    if (n > 0) out->append(line, static_cast<size_t>(n));
  }
  out->resize(target);
}

void MakeDbPage(uint64_t seed, uint32_t page, uint32_t version, double fill,
                uint8_t* out) {
  std::memset(out, 0, kDbPageSize);
  std::memcpy(out, "VDBP", 4);
  EncodeFixed32(out + 4, page);
  EncodeFixed32(out + 8, version);
  // Rows change slowly: a row's content depends on (page, row, epoch) where
  // a row's epoch advances with the page version at a row-specific pace.
  size_t pos = 32;
  const size_t limit = 32 + static_cast<size_t>((kDbPageSize - 32) * fill);
  uint32_t rows = 0;
  char rec[256];
  while (true) {
    const uint32_t pace = 1 + (rows * 7 + page) % 5;
    Rng rng(MixSeed(seed, page, rows, version / pace));
    int n = std::snprintf(
        rec, sizeof rec, "%08u|%s, %c.|%c%s%u@example.org|%s|%llu.%02u|%u\n",
        page * 64 + rows, Pick(rng, kNames),
        static_cast<char>('A' + rng.Uniform(26)),
        static_cast<char>('a' + rng.Uniform(26)), Pick(rng, kNames),
        static_cast<unsigned>(rng.Uniform(1000)), Pick(rng, kCities),
        static_cast<unsigned long long>(rng.Uniform(100000)),
        static_cast<unsigned>(rng.Uniform(100)),
        1760000000u + static_cast<unsigned>(rng.Uniform(10000000)));
    if (n <= 0 || pos + static_cast<size_t>(n) > limit) break;
    std::memcpy(out + pos, rec, static_cast<size_t>(n));
    pos += static_cast<size_t>(n);
    ++rows;
  }
  EncodeFixed32(out + 12, rows);
  uint64_t sum = Checksum64(ByteView(out + 32, kDbPageSize - 32), page);
  EncodeFixed64(out + 16, sum);
}

}  // namespace vcsnap::fleet
