// Copies that change the shape are bound one after another; a mistake in the
// second copy names that copy: its max_pool2d<2> meets a 1 x 1 map.
// expect: is larger than the feature map
// expect: kiln::layer<2, kiln::repeat<2, kiln::conv2d<4, 3, 1
// expect: kiln::copy<2>, kiln::layer<2, kiln::max_pool2d<2>>>
// expect: kiln::shape<1, 1, 4>
// fix: One copy fewer, or a larger input: `kiln::input<16, 16>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<9, 9>, kiln::conv2d<4, 2>,
                                kiln::repeat<2, kiln::conv2d<4, 3>, kiln::max_pool2d<2>>,
                                kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
