// errors.cpp - simvirtio::Device's DEVICE_ERROR state: the error names and
// fail(), which enters the state and logs why, rate-limited.
//
// A guest can enter DEVICE_ERROR as often as it likes (a reset leaves it),
// so how often it is logged is a policy of its own, kept here in one place
// (README, "Errors"). ~Device is here too: all it does is log the count.
#include "log_text.hpp"
#include "simvirtio_core.hpp"

namespace simvirtio {

const char *error_name(Error error) noexcept
{
    switch (error) {
    case Error::none: return "NONE";
    case Error::out_of_order: return "OUT_OF_ORDER";
    case Error::bad_selector: return "BAD_SELECTOR";
    case Error::bad_length: return "BAD_LENGTH";
    case Error::bad_address: return "BAD_ADDRESS";
    case Error::bad_index: return "BAD_INDEX";
    case Error::table: return "TABLE";
    case Error::bad_driver_status: return "BAD_DRIVER_STATUS";
    }
    return "?";
}

void Device::fail(Error error, const std::string &reason)
{
    if (phase_ == Phase::error) {
        debug(format("already in DEVICE_ERROR (%s), also: %s", error_name(error_), reason.c_str()));
        return;
    }
    phase_ = Phase::error;
    error_ = error;
    pending_.clear();
    pending_pos_ = 0;
    // A reset leaves DEVICE_ERROR, so a guest can enter it again and again
    // (a reset request and a bad driver status: two exits). The first
    // kWarnedErrors are warnings; after that each is a debug line, and only
    // the count is a warning, at every power of two: the log grows with the
    // logarithm of what the guest does.
    static_assert((kWarnedErrors & (kWarnedErrors - 1)) == 0, "the counts logged are its multiples by 2, 4, ...");
    ++errors_;
    const std::string line = format("DEVICE_ERROR %s: %s", error_name(error), reason.c_str());
    if (errors_ <= kWarnedErrors) {
        warn(line);
        return;
    }
    debug(line);
    const auto count = static_cast<unsigned long long>(errors_);
    if (errors_ == kWarnedErrors + 1)
        warn(format("DEVICE_ERROR entered %llu times: from now on each is logged at debug level only; their count is "
                    "logged at %llu, %llu, ... times and when the device goes away",
                    count, static_cast<unsigned long long>(2 * kWarnedErrors),
                    static_cast<unsigned long long>(4 * kWarnedErrors)));
    else if ((errors_ & (errors_ - 1)) == 0)
        warn(format("DEVICE_ERROR entered %llu times (%llu of them logged at debug level only)", count,
                    static_cast<unsigned long long>(errors_ - kWarnedErrors)));
}

Device::~Device()
{
    if (errors_ > kWarnedErrors)
        log_.log(LogLevel::info, format("DEVICE_ERROR entered %llu times in all (%llu of them logged at debug level only)",
                                        static_cast<unsigned long long>(errors_),
                                        static_cast<unsigned long long>(errors_ - kWarnedErrors)));
}

} // namespace simvirtio
