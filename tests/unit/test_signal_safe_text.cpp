// The fatal-signal handler's text builder: what it writes into the crash
// message and the crash report (a JSON string) must be exact and bounded.
#include "support/signal_safe_text.hpp"

#include <catch2/catch.hpp>

#include <string>

using vmm::SignalSafeText;

TEST_CASE("signal-safe text: strings, hex and decimal numbers", "[unit][crash]")
{
    char buffer[128];
    SignalSafeText text(buffer, sizeof buffer);
    text.text("pc ").hex(0x7f00dead).text(" status ").number(3).text(" ").number(-42).text(" ").hex(0);
    CHECK(std::string(text.c_str()) == "pc 0x7f00dead status 3 -42 0x0");
    CHECK(text.size() == std::string(text.c_str()).size());
}

TEST_CASE("signal-safe text: JSON escaping of quotes, backslashes and control bytes", "[unit][crash]")
{
    char buffer[128];
    SignalSafeText text(buffer, sizeof buffer);
    text.json("device 'a\"b\\c'\n\x1b");
    CHECK(std::string(text.c_str()) == "device 'a\\\"b\\\\c'\\u000a\\u001b");
}

TEST_CASE("signal-safe text: a full buffer truncates, NUL-terminated", "[unit][crash]")
{
    char buffer[8];
    SignalSafeText text(buffer, sizeof buffer);
    text.text("0123456789");
    CHECK(std::string(text.c_str()) == "0123456");
    CHECK(text.size() == 7);
}
