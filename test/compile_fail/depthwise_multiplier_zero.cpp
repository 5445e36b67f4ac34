// A depthwise convolution that gives each channel no filter: depthwise_conv2d<0, 3>.
// expect: depthwise_conv2d<0, ...> gives each channel no filter
// expect: kiln::layer<1, kiln::depthwise_conv2d<0, 3
// fix: Give each channel at least one filter: `kiln::depthwise_conv2d<1, 3>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<8, 8, 3>, kiln::depthwise_conv2d<0, 3>, kiln::flatten,
                                kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
