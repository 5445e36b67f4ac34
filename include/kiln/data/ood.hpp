#pragma once
// Out-of-distribution test sets (SEED.md part E): the same images moved or turned,
// with the same labels, to see how far a model's accuracy holds off its training
// distribution.
//   shifted_up(set, rows)  every image moved up by `rows` pixels; zero rows enter
//                          at the bottom (the course shifts by 4);
//   rot90<Turns>(set)      every image turned Turns quarter turns counter-clockwise,
//                          as numpy.rot90(image, Turns) does: height and width swap
//                          for an odd number of turns.
// Images are height x width, row-major, as the IDX files hold them.
#include "kiln/core/shape.hpp"
#include "kiln/core/tensor.hpp"
#include "kiln/data/labeled_set.hpp"

#include <algorithm>
#include <cstddef>
#include <type_traits>

namespace kiln::data {

// One height x width image: out[i][j] = in[i + rows][j], 0 where i + rows >= height.
template <class T>
void shift_up(const T* in, T* out, std::size_t height, std::size_t width, std::size_t rows) {
    const std::size_t kept = rows < height ? height - rows : 0;
    std::copy_n(in + (height - kept) * width, kept * width, out);
    std::fill(out + kept * width, out + height * width, T{0});
}

// One height x width image turned Turns (0..3) quarter turns counter-clockwise,
// as numpy.rot90: the result is width x height for an odd number of turns.
template <std::size_t Turns, class T>
void rotate_ccw(const T* in, T* out, std::size_t height, std::size_t width) {
    static_assert(Turns < 4, "kiln::data::rotate_ccw: Turns must be 0, 1, 2 or 3");
    const std::size_t out_height = Turns % 2 ? width : height;
    const std::size_t out_width = Turns % 2 ? height : width;
    for (std::size_t i = 0; i < out_height; ++i)
        for (std::size_t j = 0; j < out_width; ++j) {
            // Where out[i][j] comes from: numpy's rot90 reverses the columns and
            // transposes, once per turn.
            std::size_t row = i, column = j;
            if constexpr (Turns == 1) row = j, column = width - 1 - i;
            if constexpr (Turns == 2) row = height - 1 - i, column = width - 1 - j;
            if constexpr (Turns == 3) row = height - 1 - j, column = i;
            out[i * out_width + j] = in[row * width + column];
        }
}

namespace detail {
// A new set of the same size and labels, each image made by transform(in, out).
template <class OutShape, class InShape, std::size_t Classes, class T, class Transform>
labeled_set<OutShape, Classes, T> transformed(const labeled_set<InShape, Classes, T>& set,
                                              Transform&& transform) {
    labeled_set<OutShape, Classes, T> result(set.size());
    const auto inputs = set.inputs();
    const auto outputs = result.mutable_inputs();
    const auto labels = set.labels();
    auto result_labels = result.mutable_labels();
    for (std::size_t n = 0; n < set.size(); ++n) {
        transform(inputs[n].data(), outputs[n].data());
        result_labels[n] = labels[n];
    }
    return result;
}
} // namespace detail

template <std::size_t H, std::size_t W, std::size_t Classes, class T>
labeled_set<shape<H, W>, Classes, T> shifted_up(const labeled_set<shape<H, W>, Classes, T>& set,
                                                std::size_t rows) {
    return detail::transformed<shape<H, W>>(
        set, [rows](const T* in, T* out) { shift_up(in, out, H, W, rows); });
}

template <std::size_t Turns, std::size_t H, std::size_t W, std::size_t Classes, class T>
auto rot90(const labeled_set<shape<H, W>, Classes, T>& set) {
    using turned = std::conditional_t<Turns % 2 == 1, shape<W, H>, shape<H, W>>;
    return detail::transformed<turned>(
        set, [](const T* in, T* out) { rotate_ccw<Turns % 4>(in, out, H, W); });
}

} // namespace kiln::data
