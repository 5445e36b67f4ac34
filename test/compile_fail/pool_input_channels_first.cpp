// Pooling an image declared channels first, after a layer that keeps its shape.
// expect: image layers read height x width x channels (channels last)
// expect: kiln::layer<2, kiln::max_pool2d<2>>
// expect: kiln::shape<1, 28, 28>
// expect: kiln::shape<28, 28, 1>
// fix: Write the image channels last, `kiln::input<28, 28, 1>`, and pass the data as height x
// width x channels.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<1, 28, 28>, kiln::relu, kiln::max_pool2d<2>,
                                kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
