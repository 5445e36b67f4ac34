#!/usr/bin/env python3
"""Compiles every ```cpp block of the docs, so that the code they show stays true.

Which block is compiled how (the words after `cpp` in the fence's info string;
Markdown renders only the first word, the language):

  ```cpp                    starting with `#include`: a whole program, compiled
                            alone, as written.
  ```cpp                    anything else: a fragment. It is compiled as the body
                            of a function in namespace kiln_docs, after
                            test/doc_snippets/context.hpp (which includes every
                            kiln header and declares the names fragments use:
                            mlp, net, train, space, images, labels, data, ...)
                            and after the page's namespace-scope blocks.
  ```cpp continued          more of the fragment before it on the page, in the
                            same function body: it sees what that one declared,
                            so a section can show one program in steps.
  ```cpp namespace-scope    declarations a function body cannot hold (templates,
                            functions): compiled at namespace scope, in page
                            order, before the page's fragments, which see them.
  ```cpp does-not-compile   a fragment that shows a mistake: it must fail to
                            compile, with a kiln diagnostic ("kiln:").

Blocks in other languages (```sh, ```text) are not compiled. All of a page's
fragments and namespace-scope blocks share one translation unit, compiled with
-fsyntax-only (which still instantiates every template they use), so a page costs
one compile. `#line` directives make the compiler name the page and line of any
mistake, and the script lists the blocks that failed. docs/reference.md must also
name every header under include/kiln/, so that a new one gets documented.

  python3 scripts/check_doc_snippets.py                 # docs/guide.md, docs/reference.md
  python3 scripts/check_doc_snippets.py docs/guide.md   # one page
  python3 scripts/check_doc_snippets.py --self-test     # the checker catches mistakes
"""
import argparse
import concurrent.futures
import dataclasses
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONTEXT = ROOT / "test" / "doc_snippets" / "context.hpp"
REFERENCE = ROOT / "docs" / "reference.md"
DEFAULT_PAGES = [ROOT / "docs" / "guide.md", REFERENCE]
MODES = {"namespace-scope", "continued", "does-not-compile"}
FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$")


@dataclasses.dataclass
class Block:
    page: str  # as the compiler names it
    line: int  # the first line of code (the fence is the line before)
    code: str
    modes: set

    @property
    def kind(self) -> str:
        if "does-not-compile" in self.modes:
            return "does-not-compile"
        if "namespace-scope" in self.modes:
            return "namespace-scope"
        if "continued" in self.modes:
            return "continued"
        first = next((l for l in self.code.splitlines() if l.strip()), "")
        return "program" if first.lstrip().startswith("#include") else "fragment"


def page_name(path: pathlib.Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def cpp_blocks(path: pathlib.Path) -> list:
    """The ```cpp blocks of a page; an unknown word after `cpp` is an error."""
    blocks, lines = [], path.read_text().splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, language, rest = match.groups()
        end = i + 1
        while end < len(lines) and not (lines[end].strip().startswith(fence) and
                                        lines[end].strip().strip(fence[0]) == ""):
            end += 1
        if language in ("cpp", "c++"):
            modes = set(rest.split())
            unknown = modes - MODES
            if unknown:
                raise SystemExit(f"{page_name(path)}:{i + 1}: unknown word(s) after ```cpp: "
                                 f"{' '.join(sorted(unknown))} (known: {', '.join(sorted(MODES))})")
            body = [l[len(indent):] if l.startswith(indent) else l for l in lines[i + 1:end]]
            blocks.append(Block(page_name(path), i + 2, "\n".join(body) + "\n", modes))
        i = end + 1
    return blocks


def at(block: Block) -> str:
    return f'#line {block.line} "{block.page}"\n'


def page_unit(blocks: list, groups: list) -> str:
    """One translation unit: the context, the page's namespace-scope blocks, and
    each group of fragments (a fragment and the blocks that continue it) as the
    body of a function."""
    parts = [f'#include "{CONTEXT}"\n', "namespace kiln_docs {\n"]
    for block in blocks:
        if block.kind == "namespace-scope":
            parts += [at(block), block.code]
    for group in groups:
        parts.append(f"void fragment_at_line_{group[0].line}() {{\n")
        for block in group:
            parts += [at(block), block.code]
        parts.append("}\n")
    parts.append("} // namespace kiln_docs\n")
    return "".join(parts)


def fragment_groups(blocks: list) -> list:
    """The page's fragments, each with the `continued` blocks that follow it."""
    groups = []
    for block in blocks:
        if block.kind == "fragment":
            groups.append([block])
        elif block.kind == "continued":
            if not groups:
                raise SystemExit(f"{block.page}:{block.line}: a `cpp continued` block with no "
                                 "fragment before it to continue")
            groups[-1].append(block)
    return groups


@dataclasses.dataclass
class Job:
    name: str
    source: str
    blocks: list  # the blocks it holds, to name the ones that fail
    must_fail: bool = False


def run_job(job: Job, cxx: str, includes: list, workdir: pathlib.Path) -> tuple:
    """(problems, compiler output) of one translation unit."""
    source = workdir / (re.sub(r"\W", "_", job.name) + ".cpp")
    source.write_text(job.source)
    # Syntax only, so the SIMD target does not matter: no note that it is SSE2.
    command = [cxx, "-std=c++20", "-fsyntax-only", "-fno-diagnostics-color",
               "-DKILN_ALLOW_BASELINE_SIMD"]
    command += [f"-I{d}" for d in includes] + [str(source)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    output = result.stdout + result.stderr
    if job.must_fail:
        block = job.blocks[0]
        if result.returncode == 0:
            return [f"{block.page}:{block.line}: a `cpp does-not-compile` block compiles"], ""
        if "kiln:" not in output:
            return [f"{block.page}:{block.line}: a `cpp does-not-compile` block fails without a "
                    "kiln diagnostic"], output
        return [], ""
    if result.returncode == 0:
        return [], ""
    # The blocks whose lines the compiler names (a mistake inside kiln's headers is
    # named by the "required from here" line in the block).
    named = set()
    for page, line in re.findall(r"^([^\s:]+\.md):(\d+):", output, re.MULTILINE):
        for block in job.blocks:
            if block.page == page and block.line <= int(line) < block.line + \
                    block.code.count("\n"):
                named.add((block.page, block.line))
    problems = [f"{page}:{line}: this ```cpp block does not compile"
                for page, line in sorted(named)]
    return problems or [f"{job.name} does not compile (no block named; see below)"], output


def jobs_for(pages: list) -> list:
    jobs = []
    for path in pages:
        blocks = cpp_blocks(path)
        if not blocks:
            raise SystemExit(f"{page_name(path)}: no ```cpp blocks found")
        jobs.append(Job(page_name(path), page_unit(blocks, fragment_groups(blocks)),
                        [b for b in blocks
                         if b.kind in ("fragment", "continued", "namespace-scope")]))
        for block in blocks:
            if block.kind == "program":
                jobs.append(Job(f"{block.page}_{block.line}", at(block) + block.code, [block]))
            elif block.kind == "does-not-compile":
                jobs.append(Job(f"{block.page}_{block.line}", page_unit(blocks, [[block]]),
                                [block], must_fail=True))
    return jobs


def unnamed_headers(text: str, headers: list) -> list:
    """The headers (paths like kiln/core/rng.hpp) that text does not name."""
    return [h for h in headers if h not in text]


def check(pages: list, cxx: str, includes: list, jobs_count: int, quiet: bool = False) -> list:
    """Every problem found, each "page:line: what"; prints them with the compiler output."""
    jobs = jobs_for(pages)
    problems = []
    if any(p.resolve() == REFERENCE for p in pages):
        headers = sorted(str(h.relative_to(ROOT / "include"))
                         for h in (ROOT / "include" / "kiln").rglob("*.hpp"))
        problems += [f"{page_name(REFERENCE)}: names no header {h}"
                     for h in unnamed_headers(REFERENCE.read_text(), headers)]
        if problems and not quiet:
            print("\n".join(problems))
    with tempfile.TemporaryDirectory(prefix="kiln-doc-snippets-") as work:
        with concurrent.futures.ThreadPoolExecutor(jobs_count) as pool:
            results = list(pool.map(lambda job: run_job(job, cxx, includes, pathlib.Path(work)),
                                    jobs))
    for job, (found, output) in zip(jobs, results):
        problems += found
        if found and not quiet:
            print("\n".join(found))
            print("\n".join(output.splitlines()[:80]))
    if not quiet:
        blocks = sum(len(cpp_blocks(p)) for p in pages)
        print(f"{blocks} ```cpp blocks in {len(pages)} page(s), {len(jobs)} compiles: "
              f"{'ok' if not problems else f'{len(problems)} problem(s)'}")
    return problems


SELF_TEST_PAGE = """# A page with mistakes

```cpp namespace-scope
template <std::size_t Width>
using tiny = kiln::sequential<kiln::input<4>, kiln::linear<Width>>;
```

```cpp
kiln::model<tiny<3>> fine(kiln::init::normal{}, random);
```

```cpp continued
kiln::workspace<tiny<3>> fine_space(1);
kiln::forward(fine, fine_space, kiln::batch_view<kiln::shape<4>, const float>(nullptr, 0));
```

```cpp continued
fine.no_such_member();
```

```cpp
kiln::model<tiny<3>> broken(kiln::init::normal{}, random);
broken.no_such_member();
```

```cpp
// A kiln diagnostic reached from a fragment: the error is in kiln's header.
kiln::workspace<tiny<3>> wrong(1);
kiln::forward(net, wrong, images);
```

```cpp does-not-compile
kiln::model<tiny<3>> compiles_after_all;
```

```cpp
#include <kiln/kiln.hpp>
int main() { return undeclared; }
```

```sh
not C++ at all
```
"""


def self_test(cxx: str, includes: list) -> int:
    """The checker finds each broken block of SELF_TEST_PAGE, and only those."""
    with tempfile.TemporaryDirectory(prefix="kiln-doc-snippets-self-") as work:
        page = pathlib.Path(work) / "page.md"
        page.write_text(SELF_TEST_PAGE)
        problems = check([page], cxx, includes, 2, quiet=True)
    name = page_name(page)
    expected = [f"{name}:{line}: this ```cpp block does not compile" for line in (18, 22, 27, 37)]
    expected.append(f"{name}:33: a `cpp does-not-compile` block compiles")
    if unnamed_headers("`kiln/core/rng.hpp`", ["kiln/core/rng.hpp", "kiln/core/shape.hpp"]) != \
            ["kiln/core/shape.hpp"]:
        print("FAIL: the check that reference.md names every header misses one")
        return 1
    if sorted(problems) != sorted(expected):
        print("FAIL: the checker reported\n  " + "\n  ".join(problems) +
              "\ninstead of\n  " + "\n  ".join(expected))
        return 1
    print("ok: the checker names every broken block of its test page, and no other")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pages", nargs="*", type=pathlib.Path, help="Markdown pages")
    parser.add_argument("--cxx", default="g++", help="the compiler (default g++)")
    parser.add_argument("--include", action="append", default=[],
                        help="an include directory besides kiln's own")
    parser.add_argument("--jobs", type=int, default=2, help="compiles at once (default 2)")
    parser.add_argument("--self-test", action="store_true",
                        help="check that the checker names broken blocks")
    args = parser.parse_args()
    includes = [str(ROOT / "include")] + args.include
    if args.self_test:
        return self_test(args.cxx, includes)
    return 1 if check(args.pages or DEFAULT_PAGES, args.cxx, includes, args.jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
