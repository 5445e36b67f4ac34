#pragma once
// The initialization a command line names (--init, --cnn_init): the course's
// N(0, 0.1) ("normal"), PyTorch's default ("pytorch"), or Keras's Glorot uniform
// with zero bias ("glorot", as the course's TensorFlow notebooks start Dense and
// Conv2D layers).
#include <kiln/core/init.hpp>

#include <string>
#include <vector>

namespace kiln::examples {

inline const std::vector<std::string> init_scheme_names{"normal", "pytorch", "glorot"};

// f(scheme) with the scheme of that name (one of init_scheme_names; the command
// line has checked it).
template <class F>
decltype(auto) with_init_scheme(const std::string& name, F&& f) {
    if (name == "pytorch") return f(kiln::init::pytorch_default{});
    if (name == "glorot") return f(kiln::init::glorot_uniform{});
    return f(kiln::init::normal{0.0, 0.1});
}

} // namespace kiln::examples
