// `vmm ctl SOCKET COMMAND [ARGS...] [--json]`: a client for a running vmm's
// control socket (--control), so nobody needs socat:
//
//   vmm ctl /tmp/vmm.sock status
//   vmm ctl /tmp/vmm.sock swap com1 serial-file output=/tmp/out.txt
//   vmm ctl /tmp/vmm.sock stop
//
// It sends one JSON request line and prints the reply for people, or as the
// JSON line the socket sent with --json. Exit status: 0 when the reply says
// ok, 1 when it does not or the socket cannot be reached, 2 for a command it
// does not know.
#pragma once

#include "cli/options.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace vmm {

// How a swap is asked for beyond its words (--restart, --isolate, --in-process).
struct SwapFlags {
    bool restart = false;
    std::optional<bool> isolate;
};

// The request the words ask for ({"command": "swap", ...}), or nothing with
// `error` saying why (also when `flags` are given to a command other than swap).
std::optional<nlohmann::ordered_json> control_request_from_words(const std::vector<std::string> &words,
                                                                 std::string &error, const SwapFlags &flags = {});

// A reply as people read it: several lines, each ending in '\n'.
std::string describe_control_reply(const nlohmann::ordered_json &request, const nlohmann::ordered_json &reply);

int control_client_command(const Options &options);

} // namespace vmm
