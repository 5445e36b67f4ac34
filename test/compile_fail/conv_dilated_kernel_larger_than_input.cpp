// A 3x3 kernel dilated by 3 spans 7x7, more than the 4x4 map it gets without padding.
// expect: the convolution's kernel 'Needs' (height x width) is larger than the image 'Got'
// expect: kiln::layer<1, kiln::conv2d<8, 3, 1,
// expect: {0, false}, 3>
// expect: kiln::shape<4, 4, 2>
// expect: kiln::window<7, 7>
// fix: Pad the image (`kiln::conv2d<8, 3, 1, kiln::same, 3>`), or use a smaller dilation.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<4, 4, 2>, kiln::conv2d<8, 3, 1, 0, 3>, kiln::flatten,
                                kiln::linear<3>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
