// Evaluating a network whose output is a (28, 10) map, not one vector of logits.
// No trainer has checked this network's output, so evaluate must.
// expect: needs one vector per example
// expect: kiln::layer<1, kiln::linear<10>>
// expect: kiln::shape<28, 10>
// fix: Put `kiln::flatten` right before the first `kiln::linear`, as for training.
#include <kiln/kiln.hpp>

using no_flatten = kiln::sequential<kiln::input<28, 28>, kiln::linear<10>>;

int main() {
    const kiln::model<no_flatten> net;
    kiln::workspace<no_flatten> space(1);
    float image[28 * 28] = {};
    kiln::label_t label[1] = {0};
    const auto result =
        kiln::evaluate(net, space, kiln::batch_view<kiln::shape<28, 28>, const float>(image, 1),
                       kiln::label_view<10>(label, 1));
    (void)result;
}
