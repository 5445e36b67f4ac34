// The control for the image layers: the course's CNN3, one training step, must
// compile with every compiler.
#include <kiln/kiln.hpp>

using cnn3 = kiln::sequential<kiln::input<28, 28, 1>, kiln::conv2d<64, 7>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::conv2d<128, 2>, kiln::relu,
                              kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;
static_assert(cnn3::param_count == 68'106);

int main() {
    kiln::model<cnn3> net(kiln::init::pytorch_default{}, 1);
    kiln::trainer<cnn3> train(net, kiln::sgd{}, 1);
    float image[28 * 28] = {};
    kiln::label_t label[1] = {0};
    train.step(kiln::batch_view<kiln::shape<28, 28, 1>, const float>(image, 1),
               kiln::label_view<10>(label, 1));
}
