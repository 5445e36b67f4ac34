// The character GPT's networks of blocks 16 and 64 (4 heads), for examples/gpt.cpp's
// --sweep, --block and --heads: compiled apart from the others, in parallel with
// them (gpt_training.hpp says why).
#include "gpt_training.hpp"

namespace kiln::examples {

void run_other_blocks(const gpt_options& opt, const kiln::data::char_text& text,
                      const processes& procs, configurations_run& runs) {
    run_configurations(opt, text, procs, runs,
                       kiln::type_list<gpt_config<16, 4>, gpt_config<64, 4>>{});
}

} // namespace kiln::examples
