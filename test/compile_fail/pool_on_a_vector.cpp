// Max pooling after a linear layer: its output is a vector, not an image.
// expect: this layer works on images (height x width, or height x width x channels)
// expect: kiln::layer<3, kiln::max_pool2d<2>>
// expect: kiln::shape<128>
// fix: Pool before flattening (`conv2d, relu, max_pool2d, flatten, linear`), or view the vector
// as an image with `kiln::reshape<...>` first.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<128>,
                                kiln::max_pool2d<2>, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
