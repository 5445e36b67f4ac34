// Every network of the course (shared/SEED.md), declared and used as a program
// uses it: a model, a trainer's step, evaluation. scripts/compile_time.py times
// type-checking this file (-fsyntax-only), the cost a user pays for every edit;
// the test suite checks that it type-checks with each compiler.
#include <kiln/kiln.hpp>

namespace course {

// C: the Fashion-MNIST MLP.
using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;
static_assert(mlp::param_count == 101'770);

// E: CNN2 and CNN3.
using cnn2 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
static_assert(cnn2::param_count == 80'650);

using cnn3 = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::conv2d<128, 2>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
static_assert(cnn3::param_count == 68'106);

// One training step and one evaluation of Net on a batch of zeros.
template <class Net>
double step_and_evaluate() {
    using input = typename Net::input_shape;
    kiln::model<Net> net;
    kiln::trainer<Net> train(net, kiln::sgd{0.01, 0.9}, 5);
    float images[5 * input::size] = {};
    kiln::label_t labels[5] = {};
    const kiln::batch_view<input, const float> x(images, 5);
    const kiln::label_view<10> y(labels, 5);
    const float loss = train.step(x, y);
    return loss + kiln::evaluate(net, train.space(), x, y).accuracy;
}

} // namespace course

int main() {
    const double total = course::step_and_evaluate<course::mlp>() +
                         course::step_and_evaluate<course::cnn2>() +
                         course::step_and_evaluate<course::cnn3>();
    return total == total ? 0 : 1; // NaN is the only value unequal to itself
}
