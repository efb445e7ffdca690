// File: util/cli_exit.h
//
// What the command-line tools (vcsnap, vcsnap-fleetgen) share about exiting
// (SPEC §2): 0 success, 2 bad usage, 1 any other failure, with one line
// "<program>: error: <message>" on stderr; and CLI11 parsing that keeps
// CLI11's exceptions inside this header. Header-only, for the tools' main
// files (which link CLI11); no library includes it.
//
// Thread safety: for main() only.

#ifndef VCSNAP_UTIL_CLI_EXIT_H_
#define VCSNAP_UTIL_CLI_EXIT_H_

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>

namespace vcsnap {

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Prints "<program>: error: <message>" on stderr and returns `code`.
inline int ExitWith(const std::string& program, int code,
                    const std::string& message) {
  std::fprintf(stderr, "%s: error: %s\n", program.c_str(), message.c_str());
  return code;
}

// Parses the command line. nullopt: go on. Otherwise the exit code to return
// at once: help or version was printed (0), or a usage error was reported
// (kExitUsage).
inline std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv,
                                           const std::string& program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return ExitWith(program, kExitUsage,
                    std::string(e.what()) + " (see '" + program + " --help')");
  }
  return std::nullopt;
}

}  // namespace vcsnap

#endif  // VCSNAP_UTIL_CLI_EXIT_H_
