// A convolution on flat 784-vectors: there is no image to slide the kernel over.
// expect: this layer works on images (height x width, or height x width x channels)
// expect: kiln::layer<1, kiln::conv2d<64, 7
// expect: kiln::shape<784>
// fix: Declare the input as an image, `kiln::input<28, 28>` (one channel) or
// `kiln::input<28, 28, 1>`, or view the vectors as images with `kiln::reshape<28, 28, 1>` first.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<784>, kiln::conv2d<64, 7>, kiln::relu,
                                kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
