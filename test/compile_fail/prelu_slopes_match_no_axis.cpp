// A PReLU with a slope per channel, after a convolution with another number of filters.
// expect: prelu<N> ('Layer') learns one slope, or one per entry of its input's last axis
// expect: kiln::layer<2, kiln::prelu<16>>
// expect: kiln::shape<26, 26, 8>
// fix: One slope per channel of the 8 the convolution makes (`kiln::prelu<8>`), or one shared
// slope (`kiln::prelu<>`).
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<8, 3>, kiln::prelu<16>,
                                kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
