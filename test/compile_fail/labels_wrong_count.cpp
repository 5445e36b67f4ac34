// Labels with 5 classes for a network that outputs 10 logits.
// expect: the labels name 'Got' classes but the network's last layer produces
// expect: kiln::classes<5>
// expect: kiln::logits<10>
// fix: Make the last `kiln::linear` as wide as the number of classes (`kiln::linear<5>`), or load
// labels with as many classes as the network has logits (`kiln::label_view<10>`).
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<mlp> net;
    kiln::trainer<mlp> train(net, kiln::sgd{}, 1);
    float image[784] = {};
    kiln::label_t label[1] = {0};
    train.step(kiln::batch_view<kiln::shape<784>, const float>(image, 1),
               kiln::label_view<5>(label, 1));
}
