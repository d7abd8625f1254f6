// fmt's compiled part, built into vmm instead of linked as libfmt.so.
//
// Why: as for spdlog (support/spdlog_compiled.cpp), one shared library fewer
// at each start-up (docs/startup.md). Debian ships fmt's implementation as
// fmt/format-inl.h; this file compiles it once, with the explicit
// instantiations fmt's own src/format.cc makes for char (vmm formats no wide
// strings). Every other file includes fmt/format.h as before.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {

template auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;

template locale_ref::locale_ref(const std::locale &loc);
template auto locale_ref::get<std::locale>() const -> std::locale;

template auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl(locale_ref) -> char;
template void buffer<char>::append(const char *, const char *);
template void vformat_to(buffer<char> &, string_view, basic_format_args<FMT_BUFFER_CONTEXT(char)>, locale_ref);

} // namespace detail
FMT_END_NAMESPACE
