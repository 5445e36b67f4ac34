#pragma once
// kiln::trainer: one model, one loss, one optimizer, and the workspace for a
// mini-batch. A step is forward, loss, and backward with the optimizer's update
// folded into the weight-gradient pass, with no allocation, no virtual call and no
// runtime shape check: shapes were checked when the types met.
//
// A network with stateful layers (attention, residual, repeat) cannot split its
// passes between cores: those layers run whole on one. Its step stores the
// gradient and updates in one flat loop, and on several cores splits the
// mini-batch: each core runs forward and backward on its part of the
// examples in a workspace of its own and leaves the part's gradient in a buffer of
// its own; the buffers are added in order, and the optimizer updates the
// parameters in one flat loop. The parts are fixed by the pool's size, so a step
// gives the same result whichever core runs which part.
//
// Training controls: a learning-rate schedule (optim/rate_schedule.hpp) sets the
// optimizer's rate before every step from the count of steps taken; clipping by
// global norm (optim/clip_gradient_norm.hpp) needs the whole gradient before any
// update, so a step that clips stores the gradient and updates in one flat loop,
// as a split step does. A gradient whose norm is not finite updates nothing, and
// check_finite reports it.
//
// A step's forward and backward run in training mode (layers/layer.hpp's
// pass_mode): dropout's mask is a function of the trainer's seed, the step count,
// the layer and the example's place in the mini-batch, so a run repeats exactly
// on any number of cores, and a run resumed at its step count (set_steps) goes on
// with the same masks. batch_norm needs its statistics over the whole mini-batch,
// so a network with it never splits the batch: its passes split instead.
#include "kiln/core/tensor.hpp"
#include "kiln/core/type_list.hpp"
#include "kiln/graph/model.hpp"
#include "kiln/graph/propagate.hpp"
#include "kiln/graph/workspace.hpp"
#include "kiln/losses/softmax_cross_entropy.hpp"
#include "kiln/optim/clip_gradient_norm.hpp"
#include "kiln/optim/rate_schedule.hpp"
#include "kiln/optim/sgd.hpp"
#include "kiln/train/check_labels.hpp"
#include "kiln/train/loss_rules.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace kiln {

namespace error {
template <class Got, class Needs>
struct trainer_given_a_model_of_another_network {
    static void report() {
        static_assert(facts_of_the_error<Got, Needs>,
                      "kiln: the trainer (and its optimizer) was declared for 'Needs' but is given "
                      "'Got', a model of another network or scalar type. Fix: declare the trainer "
                      "for the model's network and type, kiln::trainer<Net, Loss, Optimizer, T> "
                      "with the Net and T of kiln::model<Net, T>.");
    }
};
template <class Got, class Needs>
struct trainer_given_another_optimizer {
    static void report() {
        static_assert(facts_of_the_error<Got, Needs>,
                      "kiln: the trainer was declared for the optimizer 'Needs' but is given the "
                      "settings of 'Got' (each optimizer's settings are a type of their own). Fix: "
                      "declare the trainer for the optimizer it is given, kiln::trainer<Net, Loss, "
                      "Got>, or give it the settings of 'Needs'.");
    }
};
template <class Given>
struct not_an_optimizer {
    static void report() {
        static_assert(facts_of_the_error<Given>,
                      "kiln: 'Given' stands where the trainer's optimizer goes, but it is not an "
                      "optimizer (kiln::sgd, kiln::adamw). Fix: name the optimizer third, after "
                      "the loss: kiln::trainer<Net, kiln::softmax_cross_entropy, kiln::adamw> "
                      "(the scalar type comes fourth).");
    }
};
template <class Model, class Settings>
struct trainer_needs_its_largest_batch {
    static void report() {
        static_assert(facts_of_the_error<Model, Settings>,
                      "kiln: a trainer is made for the largest mini-batch it will step (its "
                      "workspace is allocated once, for that many examples), but none is given. "
                      "Fix: pass it after the optimizer: kiln::trainer<Net> train(net, "
                      "kiln::sgd{0.1}, 64).");
    }
};
} // namespace error

// An optimizer: its settings make a state<T> that updates parameters of type T.
template <class Optimizer>
inline constexpr bool is_optimizer = requires {
    typename Optimizer::template state<float>;
};

// The rules a labelled mini-batch keeps: its data fits the model, its labels the loss.
// The labels' kind (class indices or signs), classes and labels per example are
// in their view's type, so the loss checks them here, at compile time.
template <class Net, class T, class Loss, class Shape, class U, class Labels>
using batch_rules =
    first_broken<input_rules<Net, T, Shape, U>, typename Loss::template labels_rule<Labels>>;

template <class Net, class Loss = softmax_cross_entropy, class Optimizer = sgd, class T = float>
class trainer {
    // What does not fit is reported in words, and a placeholder (sgd's state) stands
    // for what is not an optimizer, so that it adds no errors of its own.
    using rules = first_broken<loss_rules<Net, Loss>,
                               rule<is_optimizer<Optimizer>, error::not_an_optimizer<Optimizer>>>;
    static_assert(checked(enforce<rules>));
    using optimizer_type = std::conditional_t<is_optimizer<Optimizer>, Optimizer, sgd>;

    // The model and the optimizer's settings the trainer was declared for.
    template <class Model, class Settings>
    static constexpr bool fits = std::is_same_v<Model, model<Net, T>>&& is_optimizer<Optimizer>&&
        std::is_convertible_v<const Settings&, const Optimizer&>;

public:
    using loss_type = bound_loss<Loss, Net>;

    trainer(model<Net, T>& net, const Optimizer& optimizer, std::size_t max_batch,
            thread_pool& pool = default_thread_pool()) requires is_optimizer<Optimizer>
        : net_(net), space_(max_batch, pool), optimizer_(optimizer, net.parameters().size()) {
        space_.set_weights_change_every_step(true);
        if constexpr (splits_batch)
            if (pool.size() > 1) make_parts(pool, max_batch);
    }

    // A model of another network or scalar type, or another optimizer's settings,
    // is reported in words, not as a failed overload resolution.
    template <class OtherNet, class U, class Settings>
    requires(!fits<model<OtherNet, U>, Settings>)
        trainer(model<OtherNet, U>&, const Settings&, std::size_t max_batch,
                thread_pool& pool = default_thread_pool())
        : net_(model_never_made()), space_(max_batch, pool), optimizer_(settings_never_made(), 0) {
        static_assert(checked(
            enforce<
                first_broken<rules,
                             rule<std::is_same_v<model<OtherNet, U>, model<Net, T>>,
                                  error::trainer_given_a_model_of_another_network<
                                      model<OtherNet, U>, model<Net, T>>>,
                             rule<std::is_convertible_v<const Settings&, const Optimizer&>,
                                  error::trainer_given_another_optimizer<Settings, Optimizer>>>>));
    }
    // The same for a trainer made without its largest mini-batch.
    template <class Model, class Settings>
    trainer(Model&, const Settings&)
        : net_(model_never_made()), space_(1), optimizer_(settings_never_made(), 0) {
        static_assert(checked(
            enforce<first_broken<
                rules, rule<false, error::trainer_needs_its_largest_batch<Model, Settings>>>>));
    }

    // Forward, backward and update on one mini-batch; returns its mean loss. The
    // gradient is not kept (model().gradients() holds scratch afterwards). The
    // labels' (or a regression's targets') values are not looked at: their kind and
    // count (or shape) per example are in their type, checked against the loss at
    // compile time, and their values were checked when their view was made; only
    // their count is compared with the batch's.
    template <class Shape, class U, class Labels>
    requires is_label_or_target_view<Labels> T step(batch_view<Shape, U> x, Labels labels) {
        if constexpr (enforce<
                          first_broken<rules, batch_rules<Net, T, loss_type, Shape, U, Labels>>>) {
            require_labels_for(x.batch(), labels, "kiln::trainer::step");
            if (!schedule_.is_none())
                optimizer_.set_learning_rate(
                    schedule_.rate(steps_, optimizer_.settings().learning_rate));
            if constexpr (splits_batch) {
                const T loss = split_step(x, labels);
                ++steps_;
                return loss;
            } else {
                const T loss = forward_loss(x, labels);
                // Clipping stores the gradient for its norm; otherwise the update is
                // folded into backward. One type of sink does either, so that the
                // network's backward is compiled once.
                if (clips()) {
                    backward(net_, space_, fused_or_stored{nullptr, net_.gradients().data()});
                    clip_and_update();
                } else {
                    const auto update = optimizer_.fused(net_.parameters().data());
                    backward(net_, space_, fused_or_stored{&update, nullptr});
                }
                ++steps_;
                return loss;
            }
        } else {
            return T{}; // after a reported mistake
        }
    }

    // A step on a share of a mini-batch that several processes train together
    // (distributed/data_parallel.hpp): x holds examples first.. first + x.batch() of
    // a mini-batch of `batch`. The gradient of this share's part of the mean loss is
    // stored in model().gradients(), and `reduce` makes it the whole mini-batch's:
    // reduce.gradients_final(offset) hears as backward finishes each layer,
    // and reduce.finish(this share's part of the loss) returns once the gradient is
    // summed over the processes, with the whole mini-batch's mean loss. Then the
    // update, the same on every process. A share that is the whole mini-batch steps
    // as step() does, bit for bit.
    template <class Shape, class U, class Labels, class Reduce>
    requires is_label_or_target_view<Labels> T step_share(batch_view<Shape, U> x, Labels labels,
                                                          std::size_t first, std::size_t batch,
                                                          Reduce& reduce) {
        if constexpr (enforce<
                          first_broken<rules, batch_rules<Net, T, loss_type, Shape, U, Labels>>>) {
            require_labels_for(x.batch(), labels, "kiln::trainer::step_share");
            require_share(first, x.batch(), batch);
            if (!schedule_.is_none())
                optimizer_.set_learning_rate(
                    schedule_.rate(steps_, optimizer_.settings().learning_rate));
            const std::size_t count = x.batch();
            T* const gradient = net_.gradients().data();
            const bool split = splits_between_parts(count);
            if constexpr (splits_batch) parts_.last_pass_here = !split;
            T loss = 0;
            if (count == 0) { // fewer examples than processes
                std::fill_n(gradient, net_.gradients().size(), T{0});
                reduce.gradients_final(0);
            } else if (split) {
                if constexpr (splits_batch) {
                    loss = part_gradients(x, labels, first, batch);
                    add_parts_into_model();
                    reduce.gradients_final(0);
                }
            } else {
                const auto out = forward(net_, space_, x, training_mode(first));
                T* const output_gradients = output_gradient(space_).data();
                const T weight = static_cast<T>(count) / static_cast<T>(batch);
                loss = weight *
                       loss_type::evaluate(out.data(), labels.data(), count, output_gradients);
                simd::scale_into(count * Net::output_shape::size, weight, output_gradients,
                                 output_gradients);
                const gradient_listener listener{[](void* context, std::size_t offset) {
                                                     static_cast<Reduce*>(context)->gradients_final(
                                                         offset);
                                                 },
                                                 &reduce};
                backward(net_, space_, store_gradients<T>{gradient, listener});
            }
            loss = reduce.finish(loss);
            if constexpr (splits_batch)
                if (split) {
                    clips() ? clip_and_update_over_cores() : update_over_cores(false, 1);
                    ++steps_;
                    return loss;
                }
            clips() ? clip_and_update() : update_trained_parameters();
            ++steps_;
            return loss;
        } else {
            return T{};
        }
    }

    // Forward and backward only, in training mode at the current step (the masks
    // the next step would draw): the gradient is left in model().gradients().
    template <class Shape, class U, class Labels>
    requires is_label_or_target_view<Labels>
        T compute_gradients(batch_view<Shape, U> x, Labels labels, T* input_gradient = nullptr) {
        if constexpr (enforce<
                          first_broken<rules, batch_rules<Net, T, loss_type, Shape, U, Labels>>>) {
            require_labels_for(x.batch(), labels, "kiln::trainer::compute_gradients");
            const T loss = forward_loss(x, labels);
            backward(net_, space_, input_gradient);
            return loss;
        } else {
            return T{};
        }
    }

    // The mean loss on a mini-batch, without gradients, in evaluation.
    template <class Shape, class U, class Labels>
    requires is_label_or_target_view<Labels> T loss(batch_view<Shape, U> x, Labels labels) {
        return loss_in_mode(x, labels, pass_mode{}, "kiln::trainer::loss");
    }
    // The same in training mode at the current step, as compute_gradients sees it
    // (central differences check its gradient; batch_norm's running statistics
    // take the batch in, as any training pass does).
    template <class Shape, class U, class Labels>
    requires is_label_or_target_view<Labels> T training_loss(batch_view<Shape, U> x,
                                                             Labels labels) {
        return loss_in_mode(x, labels, training_mode(0), "kiln::trainer::training_loss");
    }

    model<Net, T>& net() noexcept { return net_; }
    workspace<Net, T>& space() noexcept { return space_; }
    // Calls f(workspace) for each workspace that holds the last step's forward
    // pass: space() itself, or each part's, for a step split between cores
    // (check_finite's report reads the pass there, from before the update).
    template <class F>
    [[gnu::cold]] void for_each_last_pass(F&& f) {
        if constexpr (splits_batch)
            if (!parts_.last_pass_here) {
                for (auto& part_space : parts_.spaces)
                    f(*part_space);
                return;
            }
        f(space_);
    }
    typename optimizer_type::template state<T>& optimizer() noexcept { return optimizer_; }

    // The learning-rate schedule every step applies (none by default: the
    // optimizer's rate stays what it, or set_learning_rate, says). Step t (from 0)
    // runs at schedule.rate(t, the optimizer's settings' rate).
    void set_schedule(const rate_schedule& schedule) noexcept { schedule_ = schedule; }
    const rate_schedule& schedule() const noexcept { return schedule_; }
    // The seed of dropout's masks (0 unless set); a resumed run sets the same.
    void set_seed(std::uint64_t seed) noexcept { seed_ = seed; }
    std::uint64_t seed() const noexcept { return seed_; }
    // The steps taken: the schedule's position and dropout's (checkpoints keep it).
    std::uint64_t steps() const noexcept { return steps_; }
    void set_steps(std::uint64_t steps) noexcept { steps_ = steps; }

    // Clipping by global norm, as torch.nn.utils.clip_grad_norm_ (> 0; infinity,
    // the default, turns it off). last_gradient_norm(): the norm of the last
    // step's gradient before clipping (0 without clipping).
    void set_max_gradient_norm(double max_norm) {
        require_max_gradient_norm(max_norm, "kiln::trainer::set_max_gradient_norm");
        max_gradient_norm_ = max_norm;
    }
    double max_gradient_norm() const noexcept { return max_gradient_norm_; }
    double last_gradient_norm() const noexcept { return last_gradient_norm_; }

private:
    using fused_or_stored = store_or_update<
        decltype(std::declval<typename optimizer_type::template state<T>&>().fused(nullptr)), T>;

    bool clips() const noexcept {
        return max_gradient_norm_ != std::numeric_limits<double>::infinity();
    }
    // Clips the stored gradient and updates the parameters by it, or, when its norm
    // is not finite, leaves them as they are for check_finite to report.
    void clip_and_update() {
        last_gradient_norm_ = clip_gradient_norm(net_.gradients(), max_gradient_norm_);
        if (std::isfinite(last_gradient_norm_)) [[likely]]
            update_trained_parameters();
    }
    // One flat update over the stored gradient, leaving model state (batch_norm's
    // running statistics) as the step's forward pass left it.
    void update_trained_parameters() {
        if constexpr (!has_model_state) {
            optimizer_.update(net_.parameters(), net_.gradients());
        } else {
            const auto step = optimizer_.fused(net_.parameters().data());
            auto sink = step.slice(0);
            Net::network_runner::for_trained_runs(0, [&](std::size_t offset, std::size_t count) {
                hand_over(sink, offset, net_.gradients().data() + offset, count);
            });
        }
    }
    static constexpr bool has_model_state = [] {
        std::size_t trained = 0;
        Net::network_runner::for_trained_runs(
            0, [&](std::size_t, std::size_t count) { trained += count; });
        return trained != Net::network_runner::storage_size;
    }();

    [[gnu::cold]] static void require_share(std::size_t first, std::size_t count,
                                            std::size_t batch) {
        if (first > batch || count > batch - first)
            throw std::invalid_argument(
                "kiln::trainer::step_share: examples " + std::to_string(first) + ".." +
                std::to_string(first + count) + " are not a share of a mini-batch of " +
                std::to_string(batch));
    }

    // Training at the current step, for the examples from first_example on.
    pass_mode training_mode(std::size_t first_example) const noexcept {
        return {true, seed_, steps_, first_example};
    }

    template <class Shape, class U, class Labels>
    T loss_in_mode(batch_view<Shape, U> x, Labels labels, const pass_mode& mode,
                   const char* caller) {
        if constexpr (enforce<
                          first_broken<rules, batch_rules<Net, T, loss_type, Shape, U, Labels>>>) {
            require_labels_for(x.batch(), labels, caller);
            const auto out = forward(net_, space_, x, mode);
            return loss_type::evaluate(out.data(), labels.data(), out.batch());
        } else {
            return T{};
        }
    }

    // Forward in training mode and the loss, leaving d loss / d output in the workspace.
    template <class Shape, class U, class Labels>
    T forward_loss(batch_view<Shape, U> x, Labels labels) {
        const auto out = forward(net_, space_, x, training_mode(0));
        return loss_type::evaluate(out.data(), labels.data(), out.batch(),
                                   output_gradient(space_).data());
    }

    static constexpr bool splits_batch =
        static_sum<Net::layer_count>(
            [](auto i) { return stateful_layer<type_at<i, typename Net::layers>>; }) != 0 &&
        static_sum<Net::layer_count>(
            [](auto i) { return needs_whole_batch<type_at<i, typename Net::layers>>; }) == 0;

    [[gnu::cold]] void make_parts(thread_pool& pool, std::size_t max_batch) {
        const std::size_t parts = pool.size();
        const std::size_t part_batch = (max_batch + parts - 1) / parts;
        for (std::size_t p = 0; p < parts; ++p)
            parts_.spaces.push_back(
                std::make_unique<workspace<Net, T>>(part_batch, parts_.one_core));
        parts_.gradients = aligned_buffer<T>((parts - 1) * net_.gradients().size());
        parts_.losses.assign(parts, T{0});
    }

    // Part p's gradient: the model's gradient buffer for part 0, its own for the rest.
    T* part_gradient(std::size_t part) noexcept {
        return part == 0 ? net_.gradients().data()
                         : parts_.gradients.data() + (part - 1) * net_.gradients().size();
    }

    // Whether a step of count examples splits between the pool's cores (networks
    // with stateful layers, on several cores, with an example for each).
    bool splits_between_parts(std::size_t count) const noexcept {
        if constexpr (splits_batch)
            return parts_.spaces.size() > 1 && count >= parts_.spaces.size();
        else
            return false;
    }

    template <class Shape, class U, class Labels>
    T split_step(batch_view<Shape, U> x, Labels labels) {
        const std::size_t batch = x.batch();
        // Unsplit (one core, or fewer examples than cores), the step is the same
        // backward into the model's gradient buffer and the same flat update: one
        // backward per network to compile, where a fused update would be a second.
        parts_.last_pass_here = !splits_between_parts(batch);
        if (parts_.last_pass_here) {
            const T loss = forward_loss(x, labels);
            backward(net_, space_);
            if (clips())
                clip_and_update();
            else
                update_trained_parameters();
            return loss;
        }
        const T loss = part_gradients(x, labels, 0, batch);
        // Clipping needs the whole sum's norm first: the cores add, the caller takes
        // the norm (one pass, in an order that does not depend on the split), and the
        // cores scale and update. Otherwise they add as they update.
        if (!clips()) {
            update_over_cores(true, 1);
            return loss;
        }
        add_parts_into_model();
        clip_and_update_over_cores();
        return loss;
    }

    // Each part's gradient (in its own buffer) of its share of x, examples first..
    // of a mini-batch of `batch`, the part weighing its examples over the batch's;
    // returns the share's part of the mean loss.
    template <class Shape, class U, class Labels>
    T part_gradients(batch_view<Shape, U> x, Labels labels, std::size_t first, std::size_t batch) {
        const std::size_t parts = parts_.spaces.size();
        const std::size_t share = x.batch();
        space_.bind_input(x.data(), share); // what check_finite reads after the step
        space_.pool().run_fixed_parts([&](std::size_t part, std::size_t slot) {
            const work_share::range range = work_share{part, parts}.rows(share);
            const std::size_t count = range.end - range.begin;
            workspace<Net, T>& space = *parts_.spaces[slot];
            T* const gradients = part_gradient(part);
            if (count == 0) { // 4 examples in 3 parts: 2 + 2 + 0
                std::fill_n(gradients, net_.gradients().size(), T{0});
                parts_.losses[part] = 0;
                return;
            }
            const auto out = forward(net_, space, x.rows(range.begin, count),
                                     training_mode(first + range.begin));
            T* const output_gradients = output_gradient(space).data();
            const T loss = loss_type::evaluate(out.data(), labels.rows(range.begin, count).data(),
                                               count, output_gradients);
            // The loss is the mean over the whole batch: the part weighs count / batch.
            const T weight = static_cast<T>(count) / static_cast<T>(batch);
            simd::scale_into(count * Net::output_shape::size, weight, output_gradients,
                             output_gradients);
            parts_.losses[part] = loss * weight;
            backward(net_, space, store_gradients<T>{gradients}, static_cast<T*>(nullptr),
                     gradients);
        });
        T loss = 0;
        for (const T part_loss : parts_.losses)
            loss += part_loss;
        return loss;
    }

    // Every core works over its own span of the flat buffers, a few KiB at a time,
    // so that what it adds is still in L1 when it updates (on the caller alone, the
    // other core waited through 5% of a two-core transformer step).
    static constexpr std::size_t span_chunk = 64 * simd::width<T>;
    template <class F>
    void over_cores_in_chunks(F&& f) {
        const std::size_t count = net_.gradients().size();
        space_.pool().run(parts_.spaces.size(), [&](work_share share) {
            const work_share::range mine = share.rows(count, span_chunk);
            for (std::size_t first = mine.begin; first < mine.end; first += span_chunk)
                f(first, std::min(span_chunk, mine.end - first));
        });
    }
    // Adds the parts' gradients into part 0's, the model's gradient buffer.
    void add_parts(std::size_t first, std::size_t size) noexcept {
        T* const total = net_.gradients().data() + first;
        for (std::size_t part = 1; part < parts_.spaces.size(); ++part)
            simd::add(size, total, part_gradient(part) + first, total);
    }
    void add_parts_into_model() {
        over_cores_in_chunks([&](std::size_t first, std::size_t size) { add_parts(first, size); });
    }
    // The update by the model's gradient buffer (after adding the parts' into it
    // first, when `add`), scaled by factor, over the cores.
    void update_over_cores(bool add, T factor) {
        const auto update = optimizer_.fused(net_.parameters().data());
        over_cores_in_chunks([&](std::size_t first, std::size_t size) {
            auto sink = update.slice(0);
            T* const total = net_.gradients().data() + first;
            if (add) add_parts(first, size);
            if (factor != T{1}) simd::scale_into(size, factor, total, total);
            hand_over(sink, first, total, size);
        });
    }
    // clip_and_update over the cores, for a split step's summed gradient.
    void clip_and_update_over_cores() {
        last_gradient_norm_ = global_norm(std::span<const T>(net_.gradients()));
        if (!std::isfinite(last_gradient_norm_)) return; // nothing is updated
        update_over_cores(false,
                          static_cast<T>(clip_factor(last_gradient_norm_, max_gradient_norm_)));
    }

    // Declared only: they stand for the model and the settings in the constructors
    // that report a mistake, which can never compile, so they are never called.
    static model<Net, T>& model_never_made();
    static const optimizer_type& settings_never_made();

    model<Net, T>& net_;
    workspace<Net, T> space_;
    typename optimizer_type::template state<T> optimizer_;
    rate_schedule schedule_;
    std::uint64_t steps_ = 0;
    std::uint64_t seed_ = 0;
    double max_gradient_norm_ = std::numeric_limits<double>::infinity();
    double last_gradient_norm_ = 0;
    // A split step's parts (splits_batch networks on a pool of several cores), run
    // on space_'s pool. Other networks hold none and compile none of their types.
    struct batch_parts {
        thread_pool one_core{1}; // each part's passes stay on the core that runs it
        std::vector<std::unique_ptr<workspace<Net, T>>> spaces;
        aligned_buffer<T> gradients;
        std::vector<T> losses;
        bool last_pass_here = true;
    };
    struct no_parts {};
    [[no_unique_address]] std::conditional_t<splits_batch, batch_parts, no_parts> parts_;
};

} // namespace kiln
