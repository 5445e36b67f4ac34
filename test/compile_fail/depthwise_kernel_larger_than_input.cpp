// A depthwise 5x5 kernel after a stride-2 layer: the 3x3 map (no padding) is smaller.
// expect: the convolution's kernel 'Needs' (height x width) is larger than the image 'Got'
// expect: kiln::layer<2, kiln::depthwise_conv2d<1, 5
// expect: kiln::shape<3, 3, 4>
// expect: kiln::window<5, 5>
// fix: Pad the map (`kiln::depthwise_conv2d<1, 5, 1, kiln::same>`), or use a smaller kernel.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<7, 7, 4>, kiln::depthwise_conv2d<1, 3, 2>,
                                kiln::depthwise_conv2d<1, 5>, kiln::flatten, kiln::linear<3>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
