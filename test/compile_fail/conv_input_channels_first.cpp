// An image declared channels first, as PyTorch writes it: kiln reads 1 x 28 x 28 as 1 pixel high.
// expect: image layers read height x width x channels (channels last)
// expect: kiln::layer<1, kiln::conv2d<8, 3
// expect: kiln::shape<1, 28, 28>
// expect: kiln::shape<28, 28, 1>
// fix: Write the image channels last, `kiln::input<28, 28, 1>` (or `kiln::input<28, 28>`), and
// pass the data as height x width x channels.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<1, 28, 28>, kiln::conv2d<8, 3>, kiln::relu,
                                kiln::max_pool2d<2>, kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
