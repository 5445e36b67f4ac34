// Upsampling by a factor of zero: upsample2d<0>.
// expect: upsample2d<0> would repeat each pixel zero times
// expect: kiln::layer<2, kiln::upsample2d<0
// fix: Give it a factor of at least 1: `kiln::upsample2d<2>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<8, 8, 3>, kiln::conv2d<4, 3>, kiln::upsample2d<0>,
                                kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
