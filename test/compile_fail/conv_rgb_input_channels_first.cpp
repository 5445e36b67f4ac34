// A colour image declared channels first: the 3 x 3 kernel fits its 3 "rows", nothing else fails.
// expect: image layers read height x width x channels (channels last)
// expect: kiln::layer<1, kiln::conv2d<16, 3
// expect: kiln::shape<3, 32, 32>
// expect: kiln::shape<32, 32, 3>
// fix: Write the image channels last, `kiln::input<32, 32, 3>`, and pass the data as height x
// width x channels.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<3, 32, 32>, kiln::conv2d<16, 3>, kiln::relu,
                                kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
