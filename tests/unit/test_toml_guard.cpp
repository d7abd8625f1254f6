// The preparation in front of TOML++ 3.3.0: any Unicode in comments and
// strings works (TOML++ sees spaces and escapes, and columns are mapped
// back); non-ASCII text outside strings and comments and invalid UTF-8 are
// refused with their location; valid files pass.
#include "config/machine_loader.hpp"
#include "config/toml_guard.hpp"

#include "support/input_error_text.hpp"

#include <catch2/catch.hpp>

#include <variant>

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

TEST_CASE("code points TOML++ 3.3.0 mishandles work in strings and comments: it sees escapes and spaces", "[config][guard]")
{
    // U+00E9 and Romanian's U+0103 are in the blocks TOML++ 3.3.0 reaches
    // __builtin_unreachable() for; U+3001 and U+FE7F too.
    CHECK(problem("name = \"caf" + kEAcute + "\"\n") == "");
    CHECK(problem("# " + kEAcute + "t" + kEAcute + "\n") == "");
    CHECK(problem("a = '\xef\xb9\xbf'\n") == "");
    CHECK(problem("a = \"\xe3\x80\x81\"\n") == "");
    // What TOML++ is handed: ASCII only, comments blanked character for
    // character, strings escaped, a literal string as a basic one.
    const auto prepared = prepare_toml("a = 'x\\\"" + kEAcute + "' # " + kEAcute + kSmile + "\n", "m.toml");
    REQUIRE(std::holds_alternative<AsciiToml>(prepared));
    CHECK(std::get<AsciiToml>(prepared).text == "a = \"x\\\\\\\"\\u00E9\" #   \n");
}

TEST_CASE("Romanian, CJK and emoji in comments and strings reach the machine as written", "[config][guard]")
{
    const std::string romanian = "\xc4\x83\xc3\xa2\xc3\xae\xc8\x99\xc8\x9b"; // ă â î ș ț
    const std::string cjk = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e";             // 日本語
    const MachineSpec spec = parse_machine("# Ma\xc8\x99in\xc4\x83 de test: " + romanian + " " + cjk + " " + kSmile +
                                               "\n[machine]\nname = \"" + romanian + " " + cjk + " " + kSmile +
                                               "\"  # " + romanian + "\nmemory = 4096 # " + cjk + kSmile + "\n" +
                                               "[[device]]\nname = \"d\"\nplugin = \"p\"\nsettings = { s = '" +
                                               romanian + "\\n', t = \"\"\"" + cjk + "\\u0103\"\"\" }\n",
                                           "m.toml", {});
    CHECK(spec.name == romanian + " " + cjk + " " + kSmile);
    REQUIRE(spec.devices.size() == 1);
    REQUIRE(spec.devices[0].settings.size() == 2);
    CHECK(std::get<std::string>(spec.devices[0].settings[0].value) == romanian + "\\n"); // literal: no escapes
    CHECK(std::get<std::string>(spec.devices[0].settings[1].value) == cjk + "\xc4\x83");
}

TEST_CASE("errors after non-ASCII text point at the file's column, in characters", "[config][guard]")
{
    const std::string text8 = "\xc4\x83\xc3\xa2\xc3\xae\xc8\x99\xc8\x9b\xe6\x97\xa5\xe6\x9c\xac" + kSmile; // 8 characters
    // A TOML++ parse error after a string holding them (TOML++ saw escapes
    // 6 and 10 characters wide): the 'x' is the 16th character.
    CHECK_THAT(vmm::test::input_error_text([&] { parse_machine("a = \"" + text8 + "\" x\n", "m.toml", {}); }),
               Catch::StartsWith("m.toml:1:16: "));
    // The same in a literal string, which is handed over as a basic one.
    CHECK_THAT(vmm::test::input_error_text([&] { parse_machine("a = '" + text8 + "' x\n", "m.toml", {}); }),
               Catch::StartsWith("m.toml:1:16: "));
    // A machine-file error located on a node after them: 'bogus' is the
    // 53rd character of its line.
    const std::string machine = "# " + text8 + "\nimage = [{ file = \"" + text8 +
                                ".bin\", address = 0x1000, bogus = 1 }]\n[machine]\nmemory = 4096\n";
    CHECK_THAT(vmm::test::input_error_text([&] { parse_machine(machine, "m.toml", {}); }),
               Catch::Contains("m.toml:2:53: image[0]: unknown key 'bogus'"));
}

TEST_CASE("after a backslash a non-ASCII character is no escape; after backslash and whitespace it is text", "[config][guard]")
{
    // Upstream issue #190: a line-ending backslash, then the next line:
    // TOML++ meets the escape, not the character.
    CHECK(problem("s = \"\"\"\\\n" + kArrow + "\"\"\"\n") == "");
    CHECK(problem("s = \"\"\"\\   \n   \n  x" + kArrow + "\"\"\"\n") == "");
    CHECK(problem("a = \"x\\" + kArrow + "\"\n") ==
          "m.toml:1:7: a backslash before a non-ASCII character is not an escape (write \\\\ for a backslash, or "
          "\\uXXXX)");
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
