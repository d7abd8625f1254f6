// The character check in front of TOML++ 3.3.0: the code points its
// whitespace test mishandles are refused anywhere; other non-ASCII text
// outside strings and comments, invalid UTF-8, and non-ASCII after a
// backslash and whitespace in a basic string are refused too, each with
// its location; valid files pass.
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

// UTF-8 of some code points TOML++ 3.3.0 handles, and some it does not.
const std::string kArrow = "\xe2\x86\x92";        // U+2192, block 7: fine
const std::string kNihon = "\xe6\x97\xa5\xe6\x9c\xac"; // U+65E5 U+672C: fine
const std::string kShalom = "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"; // Hebrew, block 1: fine
const std::string kSmile = "\xf0\x9f\x99\x82";    // U+1F642, above the range: fine
const std::string kEAcute = "\xc3\xa9";           // U+00E9, block 0: mishandled

} // namespace

TEST_CASE("non-ASCII text is fine inside strings and comments", "[config][guard]")
{
    CHECK(problem("name = \"" + kNihon + "\" # " + kArrow + " ok\n") == "");
    CHECK(problem("name = '" + kShalom + "'\n") == "");
    CHECK(problem("s = \"\"\"\n" + kSmile + "\n\"\"\"\n") == "");
    CHECK(problem("s = '''\n\\\n" + kArrow + "'''\n") == ""); // literal: no backslash trimming
    CHECK(problem("s = \"a \\\" " + kArrow + "\"\n") == "");  // an escaped quote keeps the string open
    CHECK(problem("\"" + kArrow + "\" = 1\n") == "");         // a quoted key is a string
}

TEST_CASE("code points TOML++ 3.3.0 mishandles are refused even in strings and comments", "[config][guard]")
{
    CHECK(problem("name = \"caf" + kEAcute + "\"\n") ==
          "m.toml:1:12: character U+00E9 cannot appear in a machine file: the TOML parser vmm is built with "
          "(TOML++ 3.3.0) mishandles it (upstream issue #295); in a string, write it as \\u00E9");
    CHECK_THAT(problem("# " + kEAcute + "t" + kEAcute + "\n"), Catch::StartsWith("m.toml:1:3: character U+00E9 cannot appear"));
    CHECK_THAT(problem("a = '\xef\xb9\xbf'\n"), Catch::StartsWith("m.toml:1:6: character U+FE7F cannot appear"));
    CHECK_THAT(problem("a = \"\xe3\x80\x81\"\n"), Catch::StartsWith("m.toml:1:6: character U+3001 cannot appear"));
    // The three whitespace characters in those blocks, and neighbours in
    // blocks it handles, are fine.
    CHECK(problem("a = \"\xc2\xa0\xe3\x80\x80\xef\xbb\xbf\"\n") == ""); // U+00A0 U+3000 U+FEFF
    CHECK(problem("a = \"\xd2\x9a\xe2\x80\x80\"\n") == "");             // U+049A (block 1), U+2000 (block 7)
    CHECK(problem("a = \"\xef\xbc\x81\"\n") == "");                      // U+FF01, above the range
}

TEST_CASE("non-ASCII text outside strings and comments is refused where it is", "[config][guard]")
{
    CHECK(problem("[machine]\nmemory = 4096 " + kArrow + "\n") == "m.toml:2:15: character U+2192 outside a string or comment");
    CHECK(problem("a = 0x\xcd\x99" "8\n") == "m.toml:1:7: character U+0359 outside a string or comment");
    CHECK(problem("cl" + kArrow + " = 1\n") == "m.toml:1:3: character U+2192 outside a string or comment");
    CHECK(problem("a = 1\n\xe3\x80\x80" "b = 2\n") == "m.toml:2:1: character U+3000 outside a string or comment");
}

TEST_CASE("inside a bare token a quote does not open a string; after a dot it does", "[config][guard]")
{
    // What the fuzzer found: TOML++ scans an invalid value up to a
    // terminator, quotes and all, and meets the character after them.
    CHECK(problem("entry = 0~~\"\"\"" + kArrow + "\" \n") == "m.toml:1:15: character U+2192 outside a string or comment");
    CHECK(problem("a = x\"" + kArrow + "\"\n") == "m.toml:1:7: character U+2192 outside a string or comment");
    CHECK(problem("a = \"x\"" + kArrow + "\n") == "m.toml:1:8: character U+2192 outside a string or comment");
    // After a terminator a quote opens a string again; a dot separates keys.
    CHECK(problem("a = [1,\"" + kArrow + "\"]\n") == "");
    CHECK(problem("a = { b = \"" + kArrow + "\" }\n") == "");
    CHECK(problem("''.'#r'.''.tsp" + kArrow + "\n") == "m.toml:1:15: character U+2192 outside a string or comment");
}

TEST_CASE("after a backslash and whitespace in a basic string the next character must be ASCII", "[config][guard]")
{
    // Upstream issue #190: a line-ending backslash, then the next line.
    CHECK(problem("s = \"\"\"\\\n" + kArrow + "\"\"\"\n") ==
          "m.toml:2:1: character U+2192 right after a backslash and whitespace in a string (escape it as \\u2192)");
    CHECK(problem("s = \"\"\"\\   \n   \n  x" + kArrow + "\"\"\"\n") == ""); // after other text it is fine
    // A backslash and a space with no newline, which TOML++ trims too (fuzzed).
    CHECK(problem("a = \"x\\ " + kArrow + "\"\n") ==
          "m.toml:1:9: character U+2192 right after a backslash and whitespace in a string (escape it as \\u2192)");
    CHECK(problem("a = \"x\\" + kArrow + "\"\n") == ""); // no whitespace: TOML++ reports an invalid escape
}

TEST_CASE("invalid UTF-8 is refused", "[config][guard]")
{
    CHECK(problem("a = \"\xff\"\n") == "m.toml:1:6: invalid UTF-8 (byte 0xff)");
    CHECK(problem("a = \"\xc0\xaf\"\n") == "m.toml:1:6: invalid UTF-8 (byte 0xc0)");     // overlong
    CHECK(problem("a = \"\xed\xa0\x80\"\n") == "m.toml:1:6: invalid UTF-8 (byte 0xed)"); // a surrogate
    CHECK(problem("a = \"\xe2\x82\"\n") == "m.toml:1:6: invalid UTF-8 (byte 0xe2)");     // truncated
}

TEST_CASE("the machine loader reports the character problem as a machine-file error", "[config][guard]")
{
    const std::string text = vmm::test::input_error_text([] { parse_machine("[machine]\nmemory = 4096 \xe2\x86\x92\n", "m.toml", {}); });
    CHECK(text == "m.toml:2:15: character U+2192 outside a string or comment");
}

// TOML++ nests one table per dotted part and frees them recursively: a key
// or header of ~50,000 parts overflowed the stack (SIGSEGV, no message).
TEST_CASE("keys, table names and values nested too deep are refused before TOML++ sees them", "[config][guard]")
{
    std::string deep_key;
    for (int i = 0; i < 50000; ++i)
        deep_key += i ? ".a" : "a";
    const std::string head = "[machine]\nmemory = \"8K\"\n";
    const std::string refused = "a key or table name of more than 32 dotted parts";
    CHECK_THAT(problem(head + deep_key + " = 1\n"), Catch::StartsWith("m.toml:3:1: " + refused));
    CHECK_THAT(problem(head + "[" + deep_key + "]\n"), Catch::StartsWith("m.toml:3:2: " + refused));
    CHECK_THAT(problem(head + "[[" + deep_key + "]]\n"), Catch::StartsWith("m.toml:3:3: " + refused));
    CHECK_THAT(problem(head + "x = { " + deep_key + " = 1 }\n"), Catch::StartsWith("m.toml:3:7: " + refused));
    CHECK_THAT(problem(head + "\"q\" . " + deep_key + " = 1\n"), Catch::StartsWith("m.toml:3:1: " + refused));
    CHECK_THAT(vmm::test::input_error_text([&] { parse_machine(head + deep_key + " = 1\n", "m.toml", {}); }),
               Catch::StartsWith("m.toml:3:1: " + refused));
    CHECK_THAT(vmm::test::input_error_text([&] { parse_machine(head + "[" + deep_key + "]\n", "m.toml", {}); }),
               Catch::StartsWith("m.toml:3:2: " + refused));
    // Values nest too: arrays and inline tables, each with dotted keys.
    CHECK_THAT(problem(head + "x = " + std::string(40, '[') + std::string(40, ']') + "\n"),
               Catch::StartsWith("m.toml:3:37: arrays and inline tables nested more than 32 deep"));
    // What a machine file needs is far from the limits: 32 parts, 32 levels,
    // floats, times and many dotted keys one after the other.
    std::string parts31 = "a";
    for (int i = 0; i < 31; ++i)
        parts31 += ".a";
    CHECK(problem(head + parts31 + " = 1\n") == "");
    CHECK(problem(head + "[" + parts31 + "]\n[[b.c]]\nd.e = 1.5\nf = [1.5, 2.5, 3.5, 4.5]\n") == "");
    CHECK(problem(head + "x = " + std::string(32, '[') + std::string(32, ']') + "\n") == "");
    CHECK(problem(head + "t = 12:00:00.5 # a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g\n"
                         "[[image]]\nmodules = [\n  { file = \"a.b\" },\n  { file = \"c\" },\n]\n") == "");
    std::string many;
    for (int i = 0; i < 1000; ++i)
        many += "k" + std::to_string(i) + ".x.y = 1\n";
    CHECK(problem(head + many) == "");
}
