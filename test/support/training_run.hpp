#pragma once
// One batch through a network as the fused-against-unfused and one-core-against-two
// tests need it: the logits, the gradients (parameters and input) of the first
// step, then the parameters after three SGD steps with momentum. Every pass is
// split between the pool's cores whenever it has more than one.
#include <kiln/kiln.hpp>

#include <cstddef>
#include <cstring>
#include <vector>

namespace kiln::testing {

template <class T>
struct training_run {
    std::vector<T> logits, gradients, input_gradient, parameters_after_steps;
};

struct training_run_options {
    std::size_t threads = 1;
    // The steps' update folded into backward (trainer::step), or after it.
    bool fused_update = true;
};

template <class Net, class T, class Scheme = init::pytorch_default>
training_run<T> run_training(std::size_t batch, training_run_options options = {},
                             const Scheme& scheme = {}) {
    using input = typename Net::input_shape;
    constexpr std::size_t classes = Net::output_shape::size;
    kiln::thread_pool pool(options.threads);
    kiln::model<Net, T> net(scheme, 5);
    kiln::trainer<Net, kiln::softmax_cross_entropy, kiln::sgd, T> train(
        net, kiln::sgd{.learning_rate = 0.1, .momentum = 0.5}, batch, pool);
    train.space().set_min_flops_per_split(0);
    std::vector<T> x(batch * input::size);
    kiln::rng random(6);
    for (T& v : x)
        v = static_cast<T>(random.normal());
    std::vector<kiln::label_t> labels(batch);
    for (std::size_t b = 0; b < batch; ++b)
        labels[b] = kiln::label_t(b * 7 % classes);
    const kiln::batch_view<input, const T> inputs(x.data(), batch);
    const kiln::label_view<classes> targets(labels.data(), batch);

    training_run<T> result;
    result.input_gradient.resize(x.size());
    train.compute_gradients(inputs, targets, result.input_gradient.data());
    result.gradients.assign(net.gradients().begin(), net.gradients().end());
    const auto out = kiln::forward(net, train.space(), inputs);
    result.logits.assign(out.data(), out.data() + out.size());
    for (int step = 0; step < 3; ++step) {
        if (options.fused_update) {
            train.step(inputs, targets);
        } else {
            train.compute_gradients(inputs, targets);
            train.optimizer().update(net.parameters(), net.gradients());
        }
    }
    result.parameters_after_steps.assign(net.parameters().begin(), net.parameters().end());
    return result;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

} // namespace kiln::testing
