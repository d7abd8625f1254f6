#include "debug/gdb_request.hpp"

#include "debug/gdb_packet.hpp"

namespace vmm::gdb {
namespace {

using Kind = Request::Kind;

Request malformed(std::string why)
{
    Request r;
    r.kind = Kind::malformed;
    r.error = std::move(why);
    return r;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// "ADDR,LEN" into address and length.
bool parse_address_length(std::string_view text, Request &r)
{
    const auto comma = text.find(',');
    if (comma == std::string_view::npos)
        return false;
    const auto address = parse_hex_number(text.substr(0, comma));
    const auto length = parse_hex_number(text.substr(comma + 1));
    if (!address || !length)
        return false;
    r.address = *address;
    r.length = *length;
    return true;
}

Request parse_memory_write(std::string_view body, bool binary)
{
    Request r;
    r.kind = Kind::write_memory;
    const auto colon = body.find(':');
    if (colon == std::string_view::npos || !parse_address_length(body.substr(0, colon), r))
        return malformed("expected ADDR,LEN:DATA");
    const std::string_view data = body.substr(colon + 1);
    if (binary) {
        const auto bytes = unescape_binary(data);
        if (!bytes)
            return malformed("binary data ends inside an escape");
        r.data.assign(bytes->begin(), bytes->end());
    } else {
        auto bytes = decode_hex(data);
        if (!bytes)
            return malformed("data is not hex");
        r.data = std::move(*bytes);
    }
    if (r.data.size() != r.length)
        return malformed("the data's length differs from LEN");
    return r;
}

Request parse_point(std::string_view body, bool insert)
{
    // TYPE,ADDR,KIND[;cond...]: conditions are not announced, so not expected.
    Request r;
    r.kind = insert ? Kind::insert_point : Kind::remove_point;
    const auto comma = body.find(',');
    if (comma != 1 || body[0] < '0' || body[0] > '4')
        return malformed("expected TYPE,ADDR,KIND with TYPE 0-4");
    r.point_type = body[0] - '0';
    std::string_view rest = body.substr(2);
    rest = rest.substr(0, rest.find(';'));
    if (!parse_address_length(rest, r))
        return malformed("expected TYPE,ADDR,KIND");
    return r;
}

Request parse_vcont(std::string_view body)
{
    Request r;
    r.kind = Kind::resume;
    // ;ACTION[:THREAD] ...
    while (!body.empty()) {
        if (body[0] != ';')
            return malformed("vCont actions are separated by ';'");
        body.remove_prefix(1);
        const auto end = body.find(';');
        std::string_view item = body.substr(0, end);
        body = end == std::string_view::npos ? std::string_view{} : body.substr(end);
        const auto colon = item.find(':');
        const std::string_view action = item.substr(0, colon);
        ResumeAction a;
        if (action == "c" || action == "C" || starts_with(action, "C"))
            a.kind = ResumeKind::cont; // a signal to deliver means nothing to a vCPU: ignored
        else if (action == "s" || starts_with(action, "S"))
            a.kind = ResumeKind::step;
        else
            return malformed("unsupported vCont action (c, C, s and S are)");
        if ((action[0] == 'C' || action[0] == 'S') && (action.size() != 3 || !decode_hex(action.substr(1))))
            return malformed("C and S take a two-digit signal");
        if (colon != std::string_view::npos) {
            const auto thread = parse_thread_id(item.substr(colon + 1));
            if (!thread)
                return malformed("bad thread id in vCont");
            a.thread = *thread;
        }
        r.actions.push_back(a);
    }
    if (r.actions.empty())
        return malformed("vCont without actions");
    return r;
}

Request parse_query(std::string_view packet)
{
    Request r;
    if (starts_with(packet, "qSupported")) {
        r.kind = Kind::supported;
    } else if (starts_with(packet, "qXfer:features:read:")) {
        r.kind = Kind::features;
        std::string_view rest = packet.substr(20);
        const auto colon = rest.find(':');
        if (colon == std::string_view::npos || !parse_address_length(rest.substr(colon + 1), r))
            return malformed("expected qXfer:features:read:ANNEX:OFFSET,LENGTH");
        r.text = std::string(rest.substr(0, colon));
    } else if (packet == "qAttached" || starts_with(packet, "qAttached:")) {
        r.kind = Kind::attached;
    } else if (packet == "qfThreadInfo") {
        r.kind = Kind::first_threads;
    } else if (packet == "qsThreadInfo") {
        r.kind = Kind::next_threads;
    } else if (packet == "qC") {
        r.kind = Kind::current_thread;
    } else if (starts_with(packet, "qThreadExtraInfo,")) {
        r.kind = Kind::thread_extra;
        const auto thread = parse_thread_id(packet.substr(17));
        if (!thread)
            return malformed("bad thread id");
        r.thread = *thread;
    } else if (starts_with(packet, "qRcmd,")) {
        r.kind = Kind::monitor;
        const auto bytes = decode_hex(packet.substr(6));
        if (!bytes)
            return malformed("monitor command is not hex");
        r.text.assign(bytes->begin(), bytes->end());
    }
    return r;
}

} // namespace

std::optional<int64_t> parse_thread_id(std::string_view text)
{
    if (text == "-1")
        return kAllThreads;
    if (text.empty() || text.size() > 8)
        return std::nullopt;
    const auto value = parse_hex_number(text);
    if (!value)
        return std::nullopt;
    return static_cast<int64_t>(*value);
}

Request parse_request(std::string_view packet)
{
    Request r;
    if (packet.empty())
        return r;
    const std::string_view body = packet.substr(1);
    switch (packet[0]) {
    case 'q': return parse_query(packet);
    case 'Q':
        if (packet == "QStartNoAckMode")
            r.kind = Kind::no_ack;
        return r;
    case '?': r.kind = Kind::stop_reason; return r;
    case 'g':
        if (!body.empty())
            return malformed("g takes no argument");
        r.kind = Kind::read_registers;
        return r;
    case 'G': {
        auto bytes = decode_hex(body);
        if (!bytes)
            return malformed("register data is not hex");
        r.kind = Kind::write_registers;
        r.data = std::move(*bytes);
        return r;
    }
    case 'p': {
        const auto number = parse_hex_number(body);
        if (!number)
            return malformed("expected p REGISTER");
        r.kind = Kind::read_register;
        r.address = *number;
        return r;
    }
    case 'P': {
        const auto equals = body.find('=');
        const auto number = parse_hex_number(body.substr(0, equals));
        if (equals == std::string_view::npos || !number)
            return malformed("expected P REGISTER=VALUE");
        auto bytes = decode_hex(body.substr(equals + 1));
        if (!bytes || bytes->empty())
            return malformed("register value is not hex");
        r.kind = Kind::write_register;
        r.address = *number;
        r.data = std::move(*bytes);
        return r;
    }
    case 'm':
        r.kind = Kind::read_memory;
        if (!parse_address_length(body, r))
            return malformed("expected m ADDR,LEN");
        return r;
    case 'M': return parse_memory_write(body, false);
    case 'X': return parse_memory_write(body, true);
    case 'Z': return parse_point(body, true);
    case 'z': return parse_point(body, false);
    case 'H': {
        if (body.empty() || (body[0] != 'g' && body[0] != 'c'))
            return malformed("expected Hg ID or Hc ID");
        const auto thread = parse_thread_id(body.substr(1));
        if (!thread)
            return malformed("bad thread id");
        r.kind = Kind::set_thread;
        r.thread_op = body[0];
        r.thread = *thread;
        return r;
    }
    case 'T': {
        const auto thread = parse_thread_id(body);
        if (!thread)
            return malformed("bad thread id");
        r.kind = Kind::thread_alive;
        r.thread = *thread;
        return r;
    }
    case 'c':
    case 's': {
        r.kind = Kind::resume;
        if (!body.empty()) {
            const auto address = parse_hex_number(body);
            if (!address)
                return malformed("bad resume address");
            r.resume_address = *address;
        }
        r.actions.push_back({packet[0] == 's' ? ResumeKind::step : ResumeKind::cont, kAllThreads});
        // c/s act on the Hc thread; the session fills that in.
        r.thread = kAnyThread;
        return r;
    }
    case 'v':
        if (packet == "vCont?") {
            r.kind = Kind::vcont_query;
        } else if (starts_with(packet, "vCont;")) {
            return parse_vcont(packet.substr(5));
        } else if (starts_with(packet, "vKill")) {
            r.kind = Kind::kill;
        }
        return r;
    case 'D': r.kind = Kind::detach; return r;
    case 'k': r.kind = Kind::kill; return r;
    default: return r;
    }
}

} // namespace vmm::gdb
