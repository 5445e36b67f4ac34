// Examples of double fed to a model of float.
// expect: the examples passed to the model hold 'Got' values but the model's parameters are 'Needs'
// expect: data_scalar_differs_from_the_model<double, float>
// fix: Convert the data to the model's type, or make the model of the data's type:
// `kiln::model<mlp, double>` (and `kiln::workspace<mlp, double>`).
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<mlp> net;
    kiln::workspace<mlp, float> space(1);
    double image[784] = {};
    kiln::forward(net, space, kiln::batch_view<kiln::shape<784>, const double>(image, 1));
}
