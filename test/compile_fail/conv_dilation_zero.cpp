// A dilation of zero: every tap of the kernel would read the same pixel.
// expect: a kernel, pooling window, stride or dilation of size zero covers
// expect: kiln::layer<1, kiln::conv2d<16, 3, 1,
// expect: {1, false}, 0>
// fix: Give the dilation a size of at least 1 (1 is an ordinary convolution):
// `kiln::conv2d<16, 3, 1, 1, 1>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<16, 3, 1, 1, 0>, kiln::relu,
                                kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
