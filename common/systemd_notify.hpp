// systemd service notifications over $NOTIFY_SOCKET (the plain datagram protocol of
// sd_notify(3), so no libsystemd dependency): READY=1 after startup, WATCHDOG=1 pings within
// WatchdogSec, STOPPING=1 on shutdown, STATUS= for `systemctl status`. Without $NOTIFY_SOCKET
// (not under systemd) every call is a no-op.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace aisle::systemd {

// Sends one notification datagram; false when $NOTIFY_SOCKET is unset or the send failed.
bool notify(std::string_view state);
inline bool notify_ready() { return notify("READY=1"); }
inline bool notify_stopping() { return notify("STOPPING=1"); }
inline bool notify_watchdog() { return notify("WATCHDOG=1"); }
bool notify_status(std::string_view status);

// The interval at which to ping the watchdog (half of $WATCHDOG_USEC), when it is enabled for
// this process ($WATCHDOG_PID unset or ours).
std::optional<std::chrono::milliseconds> watchdog_interval();

}  // namespace aisle::systemd
