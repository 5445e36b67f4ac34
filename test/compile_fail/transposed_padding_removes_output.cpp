// A 1x1 map grown by a 2x2 kernel to 2x2, from which padding 1 takes two rows and columns.
// expect: conv_transpose2d's padding removes 2 Padding rows and columns
// expect: kiln::layer<2, kiln::conv_transpose2d<4, 2, 1, 1
// expect: kiln::shape<1, 1, 6>
// fix: Use less padding (`kiln::conv_transpose2d<4, 2>` grows the map to 2x2).
#include <kiln/kiln.hpp>

using broken =
    kiln::sequential<kiln::input<3, 3, 2>, kiln::conv2d<6, 3>, kiln::conv_transpose2d<4, 2, 1, 1>,
                     kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
