// Starting and supervising child processes (the broker, the collector, agents) for `aislectl
// devenv` and for tests: spawn with a log file, stop with SIGTERM then SIGKILL, pid files that
// survive the supervisor, free loopback ports and readiness probes.
//
// All functions block (the waits poll every few tens of milliseconds) and are safe to call from
// any thread. Children are started with posix_spawn, so spawning from a process that already runs
// threads (Paho, httplib) is safe. A child we spawned is reaped by whichever of is_running(),
// terminate() or kill9() first sees it exit; its exit status is kept for exit_status().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace aisle {

struct SpawnOptions {
  // argv[0] is a path, or a bare name looked up in $PATH.
  std::vector<std::string> argv;
  // Added to (or replacing entries of) this process's environment.
  std::vector<std::pair<std::string, std::string>> env;
  // stdout and stderr are appended here (created 0644 with its directory); empty inherits ours.
  // stdin is always /dev/null.
  std::string log_file;
  // Empty: this process's working directory.
  std::string working_dir;
  // The child leads its own process group, so a Ctrl-C at the terminal reaches only the
  // supervisor, which then stops its children in order.
  bool new_process_group = true;
};

// Starts the program. The child gets default signal dispositions and an empty signal mask (the
// supervisor may block signals for sigwait), and inherits no descriptor beyond 0-2.
// kNotFound when the program does not exist or is not executable.
Result<pid_t> spawn(const SpawnOptions& options);

// True while the process exists and is not a zombie. Reaps it when it is our exited child.
bool is_running(pid_t pid);

// The exit code of a child we reaped (128 + N when killed by signal N); nullopt when it has not
// been reaped here.
std::optional<int> exit_status(pid_t pid);

// SIGTERM, then SIGKILL after `grace`; returns once the process is gone (reaped when it is our
// child). kDeadlineExceeded if it survives SIGKILL for 5 s (uninterruptible sleep).
Status terminate(pid_t pid, std::chrono::milliseconds grace);

// SIGKILL without warning (fault tests), then waits until the process is gone like terminate().
Status kill9(pid_t pid);

// Pid files: one decimal pid and a newline.
Status write_pid_file(const std::string& path, pid_t pid);
Result<pid_t> read_pid_file(const std::string& path);
// True when /proc/<pid>/cmdline contains `needle` in one of its arguments.
bool cmdline_contains(pid_t pid, std::string_view needle);
// The pid in `path` when that process is running AND its command line contains `needle` (for
// example its config file path); nullopt for a missing file or a stale one (the process is gone
// or the pid was reused by an unrelated program).
std::optional<pid_t> live_pid_from_file(const std::string& path, std::string_view needle);

// A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). Never returns
// the same port twice within one process, so several callers can pick ports up front.
Result<int> find_free_port();

// One probe each: does host:port accept a TCP connection; the status code of GET `path`
// (HTTP/1.0, plain). kUnavailable when nothing answers.
bool tcp_accepts(const std::string& host, int port, std::chrono::milliseconds timeout);
Result<int> http_get_status(const std::string& host, int port, const std::string& path,
                            std::chrono::milliseconds timeout);

// Poll until the port accepts connections / until GET `path` answers 200, or kDeadlineExceeded.
Status wait_for_tcp(const std::string& host, int port, std::chrono::milliseconds timeout);
Status wait_for_http_ok(const std::string& host, int port, const std::string& path,
                        std::chrono::milliseconds timeout);

// The last `max_lines` lines of a (log) file, for error messages; empty when unreadable.
std::string tail_file(const std::string& path, std::size_t max_lines);

}  // namespace aisle
