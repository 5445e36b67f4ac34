// The control: correct code built with the same flags must compile, so that a
// broken include path cannot make every must-not-compile test pass.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<128>, kiln::relu,
                             kiln::linear<10>>;

int main() {
    kiln::model<mlp> net;
    kiln::trainer<mlp> train(net, kiln::sgd{}, 1);
    float image[28 * 28] = {};
    kiln::label_t label[1] = {0};
    train.step(kiln::batch_view<kiln::shape<28, 28>, const float>(image, 1),
               kiln::label_view<10>(label, 1));
}
