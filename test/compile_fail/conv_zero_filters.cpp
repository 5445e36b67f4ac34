// A convolution with no filters: conv2d<0, 7>.
// expect: conv2d<0, ...> has no filters
// expect: kiln::layer<1, kiln::conv2d<0, 7
// fix: Give the convolution at least one filter: `kiln::conv2d<64, 7>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<0, 7>, kiln::relu, kiln::flatten,
                                kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
