// Average pooling a 3x3 feature map with a 4x4 window.
// expect: the pooling window 'Needs' (height x width) is larger than the feature map 'Got'
// expect: kiln::layer<2, kiln::avg_pool2d<4>>
// expect: kiln::shape<3, 3, 8>
// expect: kiln::window<4, 4>
// fix: Use a window no larger than the map (`kiln::avg_pool2d<3>`), or pool the whole map
// with `kiln::global_avg_pool2d`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<5, 5>, kiln::conv2d<8, 3>, kiln::avg_pool2d<4>,
                                kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
