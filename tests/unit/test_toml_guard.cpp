// The character check in front of TOML++ 3.3.0: non-ASCII outside strings
// and comments, invalid UTF-8, and the multi-line-string case of upstream
// issue #190 are refused, with their location; valid files pass.
#include "config/machine_loader.hpp"
#include "config/toml_guard.hpp"

#include "support/input_error_text.hpp"

#include <catch2/catch.hpp>

using namespace vmm;

namespace {

std::string problem(const std::string &text)
{
    const auto p = check_toml_characters(text, "m.toml");
    return p ? p->where.str() + ": " + p->message : "";
}

} // namespace

TEST_CASE("non-ASCII text is fine inside strings and comments", "[config][guard]")
{
    CHECK(problem("name = \"café\" # été\n") == "");
    CHECK(problem("name = 'naïve'\n") == "");
    CHECK(problem("s = \"\"\"\nünïcödé\n\"\"\"\n") == "");
    CHECK(problem("s = '''\n\\\n§'''\n") == ""); // literal: no backslash trimming
    CHECK(problem("s = \"a \\\" é\"\n") == "");   // an escaped quote keeps the string open
    CHECK(problem("\"clé\" = 1\n") == "");        // a quoted key is a string
}

TEST_CASE("non-ASCII text elsewhere is refused where it is", "[config][guard]")
{
    CHECK(problem("[machine]\nmemory = 4096 é\n") == "m.toml:2:15: character U+00E9 outside a string or comment");
    CHECK(problem("a = 0x\xcd\x99" "8\n") == "m.toml:1:7: character U+0359 outside a string or comment");
    CHECK(problem("clé = 1\n") == "m.toml:1:3: character U+00E9 outside a string or comment");
    CHECK(problem("a = 1\n\xe3\x80\x80" "b = 2\n") == "m.toml:2:1: character U+3000 outside a string or comment");
}

TEST_CASE("the multi-line string case of TOML++ issue 190 is refused", "[config][guard]")
{
    CHECK(problem("s = \"\"\"\\\n\xc2\xa7\"\"\"\n") ==
          "m.toml:2:1: character U+00A7 right after a backslash and whitespace in a string (escape it as \\u00A7)");
    // What the fuzzer found next: a backslash and a space, no newline.
    CHECK(problem("\"\"\"1Inle\\ \xe2\xbf\xa3\"\"\"\n") ==
          "m.toml:1:11: character U+2FE3 right after a backslash and whitespace in a string (escape it as \\u2FE3)");
    CHECK(problem("a = \"x\\ \xc3\xa9\"\n") ==
          "m.toml:1:9: character U+00E9 right after a backslash and whitespace in a string (escape it as \\u00E9)");
    CHECK(problem("a = \"x\\\xc3\xa9\"\n") == ""); // a backslash before it: TOML++ calls that an invalid escape
    CHECK(problem("s = \"\"\"\\   \n   \n  x\xc2\xa7\"\"\"\n") == ""); // after other text it is fine
}

TEST_CASE("invalid UTF-8 is refused", "[config][guard]")
{
    CHECK(problem("a = \"\xff\"\n") == "m.toml:1:6: invalid UTF-8 (byte 0xff)");
    CHECK(problem("a = \"\xc0\xaf\"\n") == "m.toml:1:6: invalid UTF-8 (byte 0xc0)");       // overlong
    CHECK(problem("a = \"\xed\xa0\x80\"\n") == "m.toml:1:6: invalid UTF-8 (byte 0xed)");   // a surrogate
    CHECK(problem("a = \"\xe2\x82\"\n") == "m.toml:1:6: invalid UTF-8 (byte 0xe2)");       // truncated
}

TEST_CASE("the machine loader reports the character problem as a machine-file error", "[config][guard]")
{
    const std::string text =
        vmm::test::input_error_text([] { parse_machine("[machine]\nmemory = 4096 \xc3\xa9\n", "m.toml", {}); });
    CHECK(text == "m.toml:2:15: character U+00E9 outside a string or comment");
}

TEST_CASE("inside a bare token a quote does not open a string", "[config][guard]")
{
    // What the fuzzer found: TOML++ scans an invalid value up to a
    // terminator, quotes and all, and meets the character after them.
    CHECK(problem("entry = 0~~\"\"\"\xef\xba\xbf\" \n") == "m.toml:1:15: character U+FEBF outside a string or comment");
    CHECK(problem("a = x\"\xc3\xa9\"\n") == "m.toml:1:7: character U+00E9 outside a string or comment");
    CHECK(problem("a = \"x\"\xc3\xa9\n") == "m.toml:1:8: character U+00E9 outside a string or comment");
    // After a terminator, a quote opens a string again.
    CHECK(problem("a = [1,\"\xc3\xa9\"]\n") == "");
    CHECK(problem("a = { b = \"\xc3\xa9\" }\n") == "");
}
