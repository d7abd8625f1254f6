// The terminal's escape key, as QEMU's `-serial mon:stdio` has it: Ctrl-A
// then a letter is a command to the VMM, not a byte for the guest (raw mode
// sends Ctrl-C to the guest, so the user needs another way out).
//   Ctrl-A x       quit (the VMM stops, exit status 0)
//   Ctrl-A b       send a break to the guest
//   Ctrl-A h       print a one-line help on stderr
//   Ctrl-A Ctrl-A  send Ctrl-A itself
// Any other key after Ctrl-A is ignored, as in QEMU.
#pragma once

#include <cstdint>

namespace uart {

constexpr uint8_t kEscapeKey = 0x01; // Ctrl-A
constexpr const char *kEscapeHelp =
    "Ctrl-A x: quit   Ctrl-A b: send a break   Ctrl-A Ctrl-A: send Ctrl-A   Ctrl-A h: this help\n";

class EscapeKeys {
public:
    enum class Action { none, byte, quit, send_break, help };
    struct Result {
        Action action = Action::none;
        uint8_t byte = 0; // with Action::byte
    };

    Result feed(uint8_t key)
    {
        if (!escaped_) {
            if (key == kEscapeKey) {
                escaped_ = true;
                return {};
            }
            return {Action::byte, key};
        }
        escaped_ = false;
        switch (key) {
        case kEscapeKey: return {Action::byte, kEscapeKey};
        case 'x': return {Action::quit};
        case 'b': return {Action::send_break};
        case 'h': return {Action::help};
        default: return {};
        }
    }

private:
    bool escaped_ = false;
};

} // namespace uart
