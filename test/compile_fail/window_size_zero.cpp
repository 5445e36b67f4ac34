// A kernel of size zero: conv2d<64, 0>. (max_pool2d<0> and a stride of 0 give the same error.)
// expect: a kernel, pooling window, stride or dilation of size zero covers
// expect: kiln::layer<1, kiln::conv2d<64, 0
// fix: Give the kernel (and any pooling window or stride) a size of at least 1:
// `kiln::conv2d<64, 7>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 0>, kiln::relu, kiln::flatten,
                                kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
