// Global average pooling after flatten: a vector has no pixels to average over.
// expect: this layer works on images (height x width, or height x width x channels)
// expect: kiln::layer<3, kiln::global_avg_pool2d>
// expect: kiln::shape<288>
// fix: Pool before flattening (`conv2d, relu, global_avg_pool2d, linear`): global_avg_pool2d
// itself gives a vector of the channels.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<8, 8>, kiln::conv2d<8, 3>, kiln::flatten,
                                kiln::global_avg_pool2d, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
