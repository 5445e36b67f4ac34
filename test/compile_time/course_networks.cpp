// Every network of the course, declared and used as a program
// uses it: a model, a trainer's step, evaluation. scripts/compile_time.py times
// type-checking this file (-fsyntax-only), the cost a user pays for every edit;
// the test suite checks that it type-checks with each compiler.
#include <kiln/kiln.hpp>

#include <algorithm>

namespace course {

// B: the perceptron on Fashion-MNIST (a linear map scored by the multiclass
// perceptron's loss).
using perceptron = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear_no_bias<10>>;
static_assert(perceptron::param_count == 7'840);

// C: the Fashion-MNIST MLP.
using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;
static_assert(mlp::param_count == 101'770);

// D: the mini CNN (w1, w2, v1, v2) with the logistic loss.
using mini_cnn = kiln::sequential<kiln::input<3>, kiln::conv1d_no_bias<1, 2>, kiln::relu,
                                  kiln::flatten, kiln::linear_no_bias<1>>;
static_assert(mini_cnn::param_count == 4);

// E: CNN2 and CNN3.
using cnn2 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
static_assert(cnn2::param_count == 80'650);

using cnn3 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::conv2d<128, 2>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
static_assert(cnn3::param_count == 68'106);

// F: the character GPT (block 32, 4 heads, width 64), trained with AdamW.
using gpt = kiln::sequential<
    kiln::tokens<32, 65>, kiln::embedding<65, 64>, kiln::add_position<32>,
    kiln::repeat<4, kiln::residual<kiln::layer_norm, kiln::causal_self_attention<4>>,
                 kiln::residual<kiln::layer_norm, kiln::linear<256>, kiln::relu, kiln::linear<64>>>,
    kiln::layer_norm, kiln::linear<65>>;
static_assert(gpt::param_count == 209'729);

// One training step and one evaluation of Net on a batch of zeros, labelled 1 (a
// class, and the logistic loss's positive sign), in the Labels its loss reads.
template <class Net, class Loss, class Labels, class Optimizer>
double step_and_evaluate(Optimizer optimizer) {
    using input = typename Net::input_shape;
    constexpr std::size_t batch = 5;
    kiln::model<Net> net;
    kiln::trainer<Net, Loss, Optimizer> train(net, optimizer, batch);
    float examples[batch * input::size] = {};
    kiln::label_t labels[batch * Labels::labels_per_example];
    std::fill_n(labels, batch * Labels::labels_per_example, 1);
    const kiln::batch_view<input, const float> x(examples, batch);
    const Labels y(labels, batch);
    const float loss = train.step(x, y);
    return loss + kiln::evaluate<Loss>(net, train.space(), x, y).accuracy;
}

} // namespace course

int main() {
    using namespace course;
    const kiln::sgd sgd{0.01, 0.9};
    const double total =
        step_and_evaluate<perceptron, kiln::multiclass_perceptron, kiln::label_view<10>>(
            kiln::sgd{1.0}) +
        step_and_evaluate<mlp, kiln::softmax_cross_entropy, kiln::label_view<10>>(sgd) +
        step_and_evaluate<mini_cnn, kiln::logistic, kiln::sign_label_view>(sgd) +
        step_and_evaluate<cnn2, kiln::softmax_cross_entropy, kiln::label_view<10>>(sgd) +
        step_and_evaluate<cnn3, kiln::softmax_cross_entropy, kiln::label_view<10>>(sgd) +
        step_and_evaluate<gpt, kiln::sequence_cross_entropy, kiln::label_view<65, 32>>(
            kiln::adamw{});
    return total == total ? 0 : 1; // NaN is the only value unequal to itself
}
