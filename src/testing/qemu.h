// File: testing/qemu.h
//
// Test helpers around QEMU's tools (qemu-utils, installed by
// scripts/setup.sh): run a command and get its exit status, build qcow2
// images with qemu-img, write them with qemu-io (which records the writes in
// the image's persistent dirty bitmaps), and leave a bitmap inconsistent the
// way a crashed writer does. Commands' output goes to a log file in the
// test's directory, so a failing test can say what the tool printed.

#ifndef VCSNAP_TESTING_QEMU_H_
#define VCSNAP_TESTING_QEMU_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace vcsnap::testing {

// Starts argv with stdout and stderr appended to `log`; the child's pid, or
// -1 when it could not be started.
inline pid_t Spawn(const std::vector<std::string>& argv,
                   const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (std::string& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc =
      posix_spawnp(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Runs argv to completion; its exit status, or -1 when it did not exit
// normally or could not be started.
inline int RunTool(const std::vector<std::string>& argv,
                   const std::string& log) {
  pid_t pid = Spawn(argv, log);
  if (pid < 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The text of a log file, for failure messages.
inline std::string LogText(const std::string& log) {
  std::ifstream in(log);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// qemu-io commands ("write -P 0xaa 0 64k", "write -z 1M 4k", ...) applied
// to `image` of `format` ("qcow2" or "raw") in one run.
inline int QemuIo(const std::string& image, const std::string& format,
                  const std::vector<std::string>& commands,
                  const std::string& log) {
  std::vector<std::string> argv = {"qemu-io", "-f", format};
  for (const std::string& c : commands) {
    argv.push_back("-c");
    argv.push_back(c);
  }
  argv.push_back(image);
  return RunTool(argv, log);
}

// Leaves every bitmap of `image` flagged in-use, as a writer killed while it
// had the image open does: starts qemu-io on it, waits until the image's
// bitmaps show the flag, and kills it. True on success.
inline bool CrashWriter(const std::string& image, const std::string& log) {
  pid_t pid = Spawn({"qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 4k", "-c",
                     "sleep 60000", image},
                    log);
  if (pid < 0) return false;
  bool seen = false;
  const std::string info = log + ".info";
  for (int i = 0; i < 200 && !seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::remove(info.c_str());
    RunTool({"qemu-img", "info", "--force-share", "--output=json", image},
            info);
    seen = LogText(info).find("\"in-use\"") != std::string::npos;
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return seen;
}

}  // namespace vcsnap::testing

#endif  // VCSNAP_TESTING_QEMU_H_
