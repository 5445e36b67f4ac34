// Pooling a 2x2 feature map with a 4x4 window.
// expect: the pooling window 'Needs' (height x width) is larger than the feature map 'Got'
// expect: kiln::layer<6, kiln::max_pool2d<4>>
// expect: kiln::shape<2, 2, 128>
// expect: kiln::window<4, 4>
// fix: Use a window no larger than the map (`kiln::max_pool2d<2>`), or remove a layer that
// shrinks the map before it.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                                kiln::max_pool2d<4>, kiln::conv2d<128, 4>, kiln::relu,
                                kiln::max_pool2d<4>, kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
