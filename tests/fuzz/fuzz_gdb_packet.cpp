// libFuzzer target: the GDB stub's packet framing and request parser on an
// arbitrary byte stream from a debugger, fed in two chunks (a split read).
// A framed packet must come back as itself through frame() and the framer
// (a reply that fits a packet), and parsed
// requests must keep their lengths consistent.
#include "debug/gdb_packet.hpp"
#include "debug/gdb_request.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace vmm::gdb;
    const std::string_view bytes(reinterpret_cast<const char *>(data), size);
    const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
    Framer framer;
    auto events = framer.feed(bytes.substr(0, split));
    for (auto &event : framer.feed(bytes.substr(split)))
        events.push_back(std::move(event));
    for (const FramedEvent &event : events) {
        if (event.kind != FramedEvent::Kind::packet)
            continue;
        if (event.payload.size() > kMaxPacket)
            std::abort();
        // The framer hands payloads over still escaped; frame() escapes:
        // what it sends must come back, unescaped, as it was.
        Framer again;
        const std::string framed = frame(event.payload);
        const auto echoed = again.feed(framed);
        if (echoed.size() != 1)
            std::abort();
        if (framed.size() - 4 <= kMaxPacket &&
            (echoed[0].kind != FramedEvent::Kind::packet || unescape_binary(echoed[0].payload) != event.payload))
            std::abort();
        const Request request = parse_request(event.payload);
        if (request.kind == Request::Kind::write_memory && request.data.size() != request.length)
            std::abort();
        if ((request.kind == Request::Kind::insert_point || request.kind == Request::Kind::remove_point) &&
            (request.point_type < 0 || request.point_type > 4))
            std::abort();
        if (request.kind == Request::Kind::resume && request.actions.empty())
            std::abort();
    }
    return 0;
}
