"""``facelab course``: execute the notebook series and write static HTML copies with an index."""

from __future__ import annotations

HELP = "execute the notebooks and write static HTML copies with an index (reports/course)"
DESCRIPTION = """\
Execute every notebook of the series and write, into OUT (default reports/course), one static HTML
page per notebook with all its outputs (figures embedded: open it from disk, no Python, no network)
and index.html listing each notebook's learning goals and run time. The folder is replaced
atomically when the build ends. A notebook that fails is rendered up to its error and marked
failed in the index; the exit status is then 1.

examples:
  facelab course
  facelab course --notebooks 07 08            # just these two
  facelab course --dataset data/teaching      # every notebook on the 62-identity teaching set
"""


def add_arguments(parser) -> None:
    from facelab.commands._args import output_folder, positive_int

    parser.add_argument("--out", type=output_folder, default=None, metavar="DIR", help="course folder (default: reports/course in the checkout)")
    parser.add_argument("--dataset", default=None, metavar="DIR",
                        help="run every notebook on this folder-per-identity set (default: each notebook's own, the two-ID set)")
    parser.add_argument("--notebooks", nargs="+", default=None, metavar="NN",
                        help="only the notebooks whose names start with these (e.g. 01 07), or .ipynb paths")
    parser.add_argument("--timeout", type=positive_int, default=1800, help="seconds allowed per cell (default 1800)")


def run(args) -> int:
    import sys

    from facelab.course.build import build_course, select_notebooks
    from facelab.data.datasets import repo_root

    out = args.out or (repo_root() / "reports" / "course")
    params = {"DATASET": str(args.dataset)} if args.dataset else {}
    res = build_course(out, notebooks=select_notebooks(args.notebooks), parameters=params, timeout=args.timeout)
    for e in res.notebooks:
        print(f"{e.name:<32} {e.status:<7} {e.seconds:7.1f} s" + (f"  {e.error}" if e.error else ""))
    print(f"course: {res.index}")
    if res.failed:
        print(f"{len(res.failed)} notebook(s) failed: {', '.join(e.name for e in res.failed)}", file=sys.stderr)
        return 1
    return 0
