// A data-parallel trainer for a network with batch_norm, whose statistics need the
// whole mini-batch that the processes share.
// expect: a data-parallel trainer gives each process part of every mini-batch
// expect: kiln::sequential<kiln::input<8>, kiln::linear<16>, kiln::batch_norm<
// fix: Train it in one process, or use layer_norm.
#include <kiln/distributed/data_parallel.hpp>
#include <kiln/kiln.hpp>

using with_batch_norm = kiln::sequential<kiln::input<8>, kiln::linear<16>, kiln::batch_norm<>,
                                         kiln::relu, kiln::linear<10>>;

int main(int argc, char** argv) {
    kiln::distributed::session session(argc, argv);
    kiln::distributed::communicator processes;
    kiln::model<with_batch_norm> net;
    kiln::distributed::data_parallel_trainer<with_batch_norm> train(processes, net, kiln::sgd{0.1},
                                                                    32);
}
