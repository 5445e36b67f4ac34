#pragma once
// kiln::packing_area: where a part of a pass may copy its operands.
#include <cstddef>

namespace kiln {

// Memory of one part of a pass for copies of its operands (kernels/gemm.hpp packs
// panels into it), planned by the workspace: no other part touches it. Empty when
// a pass runs outside a workspace, and the kernels then read their operands in place.
struct packing_area {
    std::byte* data = nullptr;
    std::size_t bytes = 0;

    template <class T>
    T* values() const noexcept {
        return reinterpret_cast<T*>(data);
    }
    template <class T>
    std::size_t count() const noexcept {
        return bytes / sizeof(T);
    }
};

} // namespace kiln
