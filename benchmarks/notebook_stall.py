"""Run a notebook headless again and again and catch a stalled cell in the act.

A stall is a cell whose ``execute_reply`` is not seen before ``--timeout``: either nbclient raises
its timeout, or (the notebook-04 case) its wait for the reply ends at the timeout with a last look
at the socket that finds the reply there all along, so the cell "resumes" after exactly
``--timeout`` s. On a timeout the script also dumps the kernel's threads (``faulthandler`` on
SIGUSR1, from a cell injected first), waits ``--grace`` s more, then sends a ``kernel_info_request``
and reports what came back. Notebook 04's explorer cell, 40 times per run, under load::

    python benchmarks/notebook_stall.py notebooks/04_threshold_roc.ipynb \\
        --repeat "threshold_explorer(scores" 40 --runs 3 --load 2 --load-nice 0 --timeout 20 --mode raw

``stress`` instead of a notebook runs 12 cells that each fill an Output widget with 40 prints.
``--load N`` keeps N busy Python processes running (``--load-nice`` above this script's niceness,
default 19; 0 makes them compete as equals), as the CI machine was busy when the stalls happened.
``--mode`` picks the client: ``plain`` (:func:`facelab.course.notebooks.notebook_client`, the code under
test) or ``raw`` (a stock ``nbclient.NotebookClient``, for the before). One JSON line per run goes
to stdout (seconds per cell, the stall if any); the nbclient DEBUG log of each run goes to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import os
import signal
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _burn(stop, niceness):
    os.nice(niceness)
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def _client(mode, nb, timeout, cwd, log):
    from nbclient import NotebookClient

    from facelab.course.notebooks import notebook_client

    if mode == "raw":
        return NotebookClient(nb, timeout=timeout, kernel_name="python3", log=log,
                              resources={"metadata": {"path": str(cwd)}})
    return notebook_client(nb, timeout=timeout, cwd=cwd, log=log)


def _repeat(nb, needle, times):
    """Keep the cells up to the last one containing ``needle`` and run that one ``times`` times."""
    last = max(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and needle in c.source)
    nb.cells = nb.cells[:last + 1] + [nbformat.v4.new_code_cell(nb.cells[last].source) for _ in range(times - 1)]
    return nb


async def _one_run(path, params, timeout, grace, out_dir, run_no, mode, repeat=None):
    from nbclient.exceptions import CellTimeoutError

    from facelab.course.notebooks import inject_parameters

    nb = _stress_notebook() if path is None else nbformat.read(path, as_version=4)
    inject_parameters(nb, params)
    if repeat:
        _repeat(nb, repeat[0], int(repeat[1]))
    dump = out_dir / f"run{run_no:02d}-threads.txt"
    setup = (f"import faulthandler, signal\n_fh = open({str(dump)!r}, 'w')\n"
             "faulthandler.register(signal.SIGUSR1, file=_fh, all_threads=True)\n")
    nb.cells.insert(0, nbformat.v4.new_code_cell(setup))

    cwd = out_dir if path is None else path.parent
    log_path = out_dir / f"run{run_no:02d}-nbclient.log"
    handler = logging.FileHandler(log_path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d %(message)s", "%H:%M:%S"))
    log = logging.getLogger(f"stall{run_no}")
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)

    client = _client(mode, nb, timeout, cwd, log)
    times, stall = [], None
    client.reset_execution_trackers()
    async with client.async_setup_kernel(cwd=str(cwd)):
        kc = client.kc
        await client.async_wait_for_reply(kc.kernel_info())
        for index, cell in enumerate(nb.cells):
            t0 = time.monotonic()
            try:
                await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except CellTimeoutError:
                stall = {"cell": index - 1, "source": cell.source.splitlines()[:3]}
                pid = client.km.provisioner.pid
                os.kill(pid, signal.SIGUSR1)
                # the stalled execute_reply: does it still come without a nudge?
                late = await _wait_reply(kc, grace)
                stall["reply_within_grace"] = late is not None
                if late is None:
                    nudge = kc.kernel_info()
                    got = await _wait_reply(kc, 30, want_all=True)
                    stall["after_nudge"] = got
                    stall["nudge_id"] = nudge
                log.debug("STALL %s", json.dumps(stall, default=str))
                break
            took = time.monotonic() - t0
            times.append(round(took, 1))
            if took >= 0.9 * timeout:
                # nbclient's reply poll ends at the timeout with a last look at the socket: a reply
                # that was there all along is then taken, and the cell "resumes" after `timeout` s
                stall = {"cell": index - 1, "source": cell.source.splitlines()[:3], "resumed_after_s": round(took, 1)}
                log.debug("STALL %s", json.dumps(stall, default=str))
                break
    log.removeHandler(handler)
    handler.close()
    return times, stall


def _stress_notebook(cells=12, prints=40):
    """Cells that each fill an ipywidgets Output with many small outputs, as threshold_explorer
    does with two: every output the widget captures makes nbclient send a comm_msg on the shell
    channel while it waits there for the cell's execute_reply."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("DATASET = None", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import ipywidgets as widgets")]
    body = ("out = widgets.Output()\n"
            f"for i in range({prints}):\n"
            "    with out:\n"
            "        out.clear_output(wait=True)\n"
            "        print('threshold', i)\n"
            "widgets.VBox([widgets.FloatSlider(), out])")
    nb.cells += [nbformat.v4.new_code_cell(body) for _ in range(cells)]
    return nb


async def _wait_reply(kc, seconds, want_all=False):
    from queue import Empty

    deadline, got = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        try:
            msg = await kc.shell_channel.get_msg(timeout=max(0.1, deadline - time.monotonic()))
        except Empty:
            break
        got.append((msg["msg_type"], msg["parent_header"].get("msg_type"), round(time.monotonic() - deadline + seconds, 2)))
        if not want_all:
            return got
    return got or None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook", help="a notebook, or 'stress' for cells that fill an Output widget")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--timeout", type=int, default=120, help="seconds per cell before it counts as a stall")
    ap.add_argument("--grace", type=int, default=20, help="seconds to wait more for a stalled reply")
    ap.add_argument("--load", type=int, default=0, help="busy processes during the runs")
    ap.add_argument("--load-nice", type=int, default=19,
                    help="their niceness above this script's (0: they compete with the kernel as equals)")
    ap.add_argument("--mode", choices=["plain", "raw"], default="plain")
    ap.add_argument("--repeat", nargs=2, metavar=("TEXT", "N"),
                    help="stop after the last cell containing TEXT, and run that cell N times")
    ap.add_argument("--dataset", default=os.environ.get("FACELAB_TWO_ID"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/notebook_stall"))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from facelab.data.datasets import ensure_two_id

    dataset = None if args.notebook == "stress" else str(ensure_two_id(args.dataset) if args.dataset else ensure_two_id())
    stop = mp.Event()
    burners = [mp.Process(target=_burn, args=(stop, args.load_nice), daemon=True) for _ in range(args.load)]
    for b in burners:
        b.start()
    stalls = 0
    try:
        for k in range(args.runs):
            t0 = time.monotonic()
            path = None if args.notebook == "stress" else Path(args.notebook).resolve()
            times, stall = asyncio.run(_one_run(path, {"DATASET": dataset}, args.timeout,
                                                args.grace, args.out, k, args.mode, args.repeat))
            stalls += stall is not None
            print(json.dumps({"run": k, "mode": args.mode, "load": args.load, "s": round(time.monotonic() - t0, 1),
                              "stall": stall, "cell_s": times}), flush=True)
    finally:
        stop.set()
        for b in burners:
            b.join(5)
    print(f"{stalls} stalled of {args.runs} runs ({args.mode}, load {args.load})", flush=True)
    return 1 if stalls else 0


if __name__ == "__main__":
    sys.exit(main())
