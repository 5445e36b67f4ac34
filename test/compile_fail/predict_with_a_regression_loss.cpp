// kiln::predict asked for the labels of a regression, which has none.
// expect: kiln::predict reads labels from the output as the loss 'Loss' would, but a
// expect: kiln::mean_squared_error
// fix: Read the output, `kiln::forward(net, space, x)`.
#include <kiln/kiln.hpp>

#include <span>

using net = kiln::sequential<kiln::input<4>, kiln::linear<3>>;

int main() {
    kiln::model<net> model;
    kiln::workspace<net> space(1);
    const float x[4] = {1, 2, 3, 4};
    kiln::label_t out[1];
    kiln::predict<kiln::mean_squared_error>(
        model, space, kiln::batch_view<kiln::shape<4>, const float>(x, 1), std::span(out));
}
