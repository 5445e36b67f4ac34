// 28x28 images passed to a network whose input is a 784-vector.
// expect: the examples passed to the model have shape 'Got'
// expect: kiln::shape<28, 28>
// expect: kiln::shape<784>
// fix: Declare the input as the data is (`kiln::input<28, 28>, kiln::flatten, ...`), or view the
// data in the network's shape: `images.as<kiln::shape<784>>()`.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<mlp> net;
    kiln::workspace<mlp, float> space(1);
    float image[28 * 28] = {};
    kiln::forward(net, space, kiln::batch_view<kiln::shape<28, 28>, const float>(image, 1));
}
