// A second 7x7 convolution after pooling: the 5x5 map is smaller than the kernel.
// expect: the convolution's kernel 'Needs' (height x width) is larger than the image 'Got'
// expect: kiln::layer<5, kiln::conv2d<128, 7
// expect: kiln::shape<5, 5, 64>
// expect: kiln::window<7, 7>
// fix: Use a kernel that fits the map it gets (`kiln::conv2d<128, 2>` sees 5x5 here), or remove a
// pooling layer before it.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                                kiln::max_pool2d<2>, kiln::max_pool2d<2>, kiln::conv2d<128, 7>,
                                kiln::relu, kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
