// File: cli/print.h
//
// How the CLI prints results: JSON objects of SPEC §2 and the human tables.
//
// Thread safety: pure functions.

#ifndef VCSNAP_CLI_PRINT_H_
#define VCSNAP_CLI_PRINT_H_

#include <nlohmann/json.hpp>
#include <string>

#include "backup/backup.h"
#include "backup/restore.h"
#include "recipe/catalog.h"

namespace vcsnap::cli {

nlohmann::json BackupJson(const BackupResult& r);
std::string BackupText(const BackupResult& r);
nlohmann::json RestoreJson(const RestoreResult& r);
nlohmann::json SnapshotJson(const std::string& vm, const CatalogEntry& e);
// "2026-11-21T10:00:00Z"
std::string IsoTime(uint64_t unix_seconds);

}  // namespace vcsnap::cli

#endif  // VCSNAP_CLI_PRINT_H_
