// Conversions between the C ABI's (pointer, length) strings and the
// core's string views, shared by the c_api*.cpp files. A NULL pointer is
// taken as the empty string: C callers pass (NULL, 0) for "nothing".
#pragma once

#include "wscore.h"

#include <cstddef>
#include <string_view>

namespace wscore::c_api {

inline std::string_view view_of(const char *data, std::size_t len) noexcept
{
    return data == nullptr ? std::string_view{} : std::string_view{data, len};
}

inline std::string_view view_of(const wscore_str_t &s) noexcept
{
    return view_of(s.data, s.len);
}

inline wscore_str_t str_of(std::string_view v) noexcept
{
    return wscore_str_t{v.data(), v.size()};
}

}  // namespace wscore::c_api
