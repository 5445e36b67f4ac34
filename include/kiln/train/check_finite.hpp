#pragma once
// kiln::check_finite: training stops loudly when the loss turns NaN or infinite,
// saying at which step and in which layer the non-finite values first appear.
//
// The check per step is std::isfinite on the loss and a vectorized pass over the
// step's input (a small fraction of what the step reads). Only when it fails are
// the last forward pass's activations scanned, from the input to the output, to
// name the first layer whose output is not finite. A gradient
// that turns non-finite while the loss is still finite goes into the parameters
// (SGD folds the update into backward), so the next step's loss shows it: the
// report is at most one step late, and names the layer all the same. A trainer
// that clips gradients (set_max_gradient_norm) takes the gradient's norm first:
// one that is not finite updates nothing and is reported at its own step, naming
// the first layer whose gradient is not finite.
#include "kiln/core/static_for.hpp"
#include "kiln/graph/layer_rows.hpp"
#include "kiln/graph/model.hpp"
#include "kiln/graph/workspace.hpp"
#include "kiln/train/trainer.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kiln {

struct non_finite_error : std::runtime_error {
    non_finite_error(const std::string& message, std::uint64_t step, std::size_t layer)
        : std::runtime_error(message), step_(step), layer_(layer) {}
    // The step as the caller counted it, and the first layer whose output was not
    // finite (0: the input; the layer count + 1: none, only the loss).
    std::uint64_t step() const noexcept { return step_; }
    std::size_t layer() const noexcept { return layer_; }

private:
    std::uint64_t step_;
    std::size_t layer_;
};

namespace detail {

[[gnu::cold]] inline std::string short_number(double value) {
    if (std::isnan(value)) return "nan"; // whatever its sign bit
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", value);
    return text;
}

// The first non-finite value of `values`, seen as rows of `width`, and the
// largest finite magnitude.
struct finite_scan {
    bool finite = true;
    std::size_t row = 0, column = 0;
    double value = 0, largest = 0;
};
template <class T>
finite_scan scan_finite(std::span<const T> values, std::size_t width) {
    finite_scan result;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const double v = static_cast<double>(values[i]);
        if (!std::isfinite(v)) {
            if (result.finite) result = {false, i / width, i % width, v, result.largest};
        } else if (std::abs(v) > result.largest) {
            result.largest = std::abs(v);
        }
    }
    return result;
}

} // namespace detail

// Whether every value is finite: one pass that compares exponent bits, with no
// branch per value, so that the compiler vectorizes it.
template <class T>
bool all_finite(std::span<const T> values) noexcept {
    using bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    constexpr bits exponent =
        static_cast<bits>(sizeof(T) == 4 ? 0x7f800000ULL : 0x7ff0000000000000ULL);
    bits largest = 0;
    for (const T value : values) {
        const bits e = std::bit_cast<bits>(value) & exponent;
        largest = e > largest ? e : largest;
    }
    return largest != exponent; // an all-ones exponent is an infinity or a NaN
}

namespace detail {
// The layers whose entries of `buffer` (laid out as the parameters: the
// parameters or the gradients) hold a NaN or an infinity, as "2, 4" (inside a
// composite, by path); empty when there are none.
template <class T>
[[gnu::cold]] std::string non_finite_parameters(const std::vector<layer_row>& rows,
                                                std::span<const T> buffer) {
    std::string broken;
    for (const layer_row& row : rows)
        if (row.param_count != 0 && !row.composite &&
            !scan_finite(buffer.subspan(row.param_offset, row.storage_size), 1).finite)
            broken += (broken.empty() ? "" : ", ") + row.path.to_string();
    return broken;
}

template <class Net, class T>
[[gnu::cold]] std::string non_finite_parameters(const model<Net, T>& net,
                                                std::span<const T> buffer = {}) {
    return non_finite_parameters(layer_rows<Net>(), buffer.empty() ? net.parameters() : buffer);
}

// The first top-level layer whose entries of `buffer` (as above) are not all
// finite; `none` when there is none.
template <class T>
[[gnu::cold]] std::size_t first_non_finite_parameters(const std::vector<layer_row>& rows,
                                                      std::span<const T> buffer, std::size_t none) {
    for (const layer_row& row : rows)
        if (row.path.depth() == 0 && row.storage_size != 0 &&
            !all_finite(buffer.subspan(row.param_offset, row.storage_size)))
            return row.path.top();
    return none;
}

template <class Net, class T>
[[gnu::cold]] std::size_t first_non_finite_parameters(const model<Net, T>& net,
                                                      std::span<const T> buffer = {}) {
    return first_non_finite_parameters(
        layer_rows<Net>(), buffer.empty() ? net.parameters() : buffer, Net::layer_count + 1);
}

// One pass's output of a layer (position 0: the input), `size` values an example.
template <class T>
struct layer_output {
    const T* values;
    std::size_t size;
};

// describe_non_finite's report from the outputs of positions 0..layer_count.
template <class T>
[[gnu::cold]] std::string describe_outputs(std::span<const layer_output<T>> outputs,
                                           const std::vector<layer_row>& rows, std::size_t batch,
                                           std::size_t& found, std::size_t first_example,
                                           std::string_view examples) {
    const std::size_t none = outputs.size();
    found = none;
    std::string report;
    double input_largest = 0; // of the input of the layer being scanned
    std::string input_name = "the input";
    auto top_row = [&](std::size_t position) -> const layer_row& {
        for (const layer_row& row : rows)
            if (row.path.depth() == 0 && row.path.top() == position) return row;
        return rows.front(); // every position has its row
    };
    for (std::size_t position = 0; position < outputs.size() && found == none; ++position) {
        const layer_output<T> output = outputs[position];
        const auto s =
            scan_finite(std::span<const T>(output.values, batch * output.size), output.size);
        std::string name = "the input";
        if (position > 0)
            name = "layer " + std::to_string(position) + " (" + top_row(position).name + ")";
        if (!s.finite) {
            found = position;
            const std::string where = " (example " + std::to_string(first_example + s.row) +
                                      " of " + std::string(examples) + ", element " +
                                      std::to_string(s.column) + ")";
            if (position == 0)
                report =
                    "the input batch holds " + short_number(s.value) + where + ": check the data";
            else
                report = "the first non-finite value is in the output of " + name + ", shape " +
                         top_row(position).out_shape + ": " + short_number(s.value) + where +
                         "; its input (" + input_name + ") is finite, largest magnitude " +
                         short_number(input_largest) +
                         ": the values grew out of range (a smaller learning rate may help)";
        }
        input_largest = s.largest;
        input_name = name;
    }
    if (found == none)
        report = "every layer's output is finite (the output's largest magnitude is " +
                 short_number(input_largest) + "), the loss itself is not";
    return report;
}
} // namespace detail

// Where the last forward pass in `space` (and the parameters now in `net`) stop
// being finite, as one line; `first_layer` gets the position (layer_count + 1
// when every activation is finite). The pass's examples are named as examples
// first_example, first_example + 1, ... of `examples` (a part of a batch, a
// chunk of a set).
template <class Net, class T>
[[gnu::cold]] std::string describe_non_finite(const model<Net, T>& net, workspace<Net, T>& space,
                                              std::size_t* first_layer = nullptr,
                                              std::size_t first_example = 0,
                                              std::string_view examples = "the batch") {
    std::array<detail::layer_output<T>, Net::layer_count + 1> outputs;
    static_for<Net::layer_count + 1>([&](auto p) {
        constexpr std::size_t P = p;
        outputs[P] = {space.template activation<P>(), Net::template shape_after<P>::size};
    });
    const std::vector<layer_row> rows = layer_rows<Net>();
    std::size_t found = 0;
    std::string report =
        detail::describe_outputs<T>(outputs, rows, space.batch(), found, first_example, examples);
    // The parameters, as they are now: after the update of the failing step.
    if (const std::string broken = detail::non_finite_parameters(rows, net.parameters());
        !broken.empty())
        report += "; the parameters of layer(s) " + broken + " are now non-finite too";
    if (first_layer) *first_layer = found;
    return report;
}

namespace detail {
// A clipping trainer's step whose gradient norm is not finite updated nothing.
template <class Net, class Loss, class Optimizer, class T>
[[gnu::cold]] std::string skipped_update(trainer<Net, Loss, Optimizer, T>& train) {
    if (std::isfinite(train.last_gradient_norm())) return {};
    return "; the gradient's global norm is " + short_number(train.last_gradient_norm()) +
           ": the step left the parameters as they were";
}

// check_finite's throw, out of its way.
template <class Net, class Loss, class Optimizer, class T>
[[noreturn, gnu::cold, gnu::noinline]] void
report_non_finite(double loss, trainer<Net, Loss, Optimizer, T>& train, std::uint64_t step) {
    // The pass before the update, in the trainer's workspace or, for a step split
    // between cores, in its parts' (the first that is not finite).
    std::size_t layer = Net::layer_count + 1;
    std::string where;
    const T* const batch_input = train.space().input();
    train.for_each_last_pass([&](workspace<Net, T>& space) {
        // A part's examples, numbered as in the whole batch.
        const auto first =
            static_cast<std::size_t>(space.input() - batch_input) / Net::input_shape::size;
        std::size_t found = Net::layer_count + 1;
        std::string report = describe_non_finite(train.net(), space, &found, first);
        if (where.empty() || (layer > Net::layer_count && found <= Net::layer_count)) {
            where = std::move(report);
            layer = found;
        }
    });
    throw non_finite_error("training stopped at step " + std::to_string(step) + ": the loss is " +
                               short_number(loss) + "; " + where + skipped_update(train),
                           step, layer);
}

// The report of a step whose loss and input are finite but whose gradient is not
// (seen by a trainer that clips): the layers whose gradient holds the NaN or the
// infinity, from the gradient buffer the step left.
template <class Net, class Loss, class Optimizer, class T>
[[noreturn, gnu::cold, gnu::noinline]] void
report_non_finite_gradient(double loss, trainer<Net, Loss, Optimizer, T>& train,
                           std::uint64_t step) {
    const std::span<const T> gradients = train.net().gradients();
    throw non_finite_error("training stopped at step " + std::to_string(step) + ": the loss is " +
                               short_number(loss) + " but the gradient of layer(s) " +
                               non_finite_parameters(train.net(), gradients) + " is not finite" +
                               skipped_update(train) +
                               " (the values grew out of range: a smaller learning rate may help)",
                           step, first_non_finite_parameters(train.net(), gradients));
}
} // namespace detail

// The check of one step, after train.step(): throws non_finite_error when `loss`
// or the step's input is NaN or infinite, or when a trainer that clips saw a
// gradient whose norm is not. The input is checked too because relu
// maps NaN to 0: a NaN pixel would leave the loss finite while it spoils the
// first layer's weights. `step` is the caller's count, printed as given.
template <class Net, class Loss, class Optimizer, class T>
void check_finite(T loss, trainer<Net, Loss, Optimizer, T>& train, std::uint64_t step) {
    auto& space = train.space();
    const bool loss_and_input_finite =
        std::isfinite(loss) &&
        all_finite(std::span<const T>(space.input(), space.batch() * Net::input_shape::size));
    if (loss_and_input_finite && std::isfinite(train.last_gradient_norm())) [[likely]]
        return;
    if (loss_and_input_finite)
        detail::report_non_finite_gradient(static_cast<double>(loss), train, step);
    detail::report_non_finite(static_cast<double>(loss), train, step);
}

namespace detail {
// check_finite_evaluation's report, out of its way: runs x again, chunk by chunk,
// until a layer's output is not finite, and says where.
template <class Net, class T, class Shape, class U>
[[noreturn, gnu::cold, gnu::noinline]] void
report_non_finite_evaluation(double loss, const model<Net, T>& net, batch_view<Shape, U> x,
                             std::uint64_t step, std::string_view what) {
    const std::string start = "training stopped at step " + std::to_string(step) +
                              ": the mean loss over " + std::string(what) + " is " +
                              short_number(loss) + "; ";
    std::size_t layer = Net::layer_count + 1;
    if (std::isfinite(loss)) { // the parameters alone: relu hides a NaN weight from the loss
        layer = first_non_finite_parameters(net);
        throw non_finite_error(start + "the parameters of layer(s) " + non_finite_parameters(net) +
                                   " are not finite (a NaN weight before relu leaves the loss "
                                   "finite while the layer is lost)",
                               step, layer);
    }
    workspace<Net, T> space(std::min<std::size_t>(64, std::max<std::size_t>(1, x.batch())));
    std::string where;
    for (std::size_t first = 0; first < x.batch() && where.empty(); first += space.capacity()) {
        const std::size_t count = std::min(space.capacity(), x.batch() - first);
        const auto out = forward(net, space, x.rows(first, count));
        if (!all_finite(std::span<const T>(out.data(), out.size())))
            where = describe_non_finite(net, space, &layer, first, what);
    }
    if (where.empty()) where = describe_non_finite(net, space, &layer);
    throw non_finite_error(start + where, step, layer);
}
} // namespace detail

// The check after an evaluation of `net` on the examples `x` (at the end of an
// epoch, before the epoch may count as the best or be saved): throws
// non_finite_error when `loss` is not finite, or when the parameters are not.
// The parameters are checked too because relu maps a NaN weight to 0: a model
// can be broken while its loss stays finite. The report runs x again to name the
// first layer whose output is not finite. `step`: the caller's count of steps
// so far; `what` names the examples ("the training set").
template <class Net, class T, class Shape, class U>
void check_finite_evaluation(double loss, const model<Net, T>& net, batch_view<Shape, U> x,
                             std::uint64_t step, std::string_view what) {
    if (std::isfinite(loss) && all_finite(net.parameters())) [[likely]]
        return;
    detail::report_non_finite_evaluation(loss, net, x, step, what);
}

} // namespace kiln
