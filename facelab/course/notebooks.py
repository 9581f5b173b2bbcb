"""Running the notebook series headless, papermill-style.

Each notebook has one code cell tagged ``parameters`` (``DATASET = None``, ``MODEL = "dlib"``, ...)
and selects ``%matplotlib inline`` itself, so an ``MPLBACKEND=Agg`` in the environment does not
hide its figures.
:func:`execute_notebook` injects a cell right after it that overrides those values, executes the
notebook with :mod:`nbclient`, and can save the executed copy. This is how the test suite runs the
notebooks and how ``facelab report --notebooks`` reruns the whole series on another dataset or model.

Notebooks run through :func:`notebook_client`, an :class:`nbclient.NotebookClient` with one change:
nbclient stands in for the front end of an ipywidgets ``Output`` widget, and the stand-in sends a
``comm_msg`` on the shell channel for every output the widget captures, while nbclient is waiting
on that same socket for the cell's ``execute_reply``. It sends through ``jupyter_client``'s
``Session.send``, which writes on a blocking shadow of the asyncio socket; that write consumes the
socket's edge-triggered wake-up when the reply has just arrived, so the pending wait never hears of
it: the kernel is idle, and the client takes the reply only when its wait times out (after the
whole per-cell timeout). Notebook 04's ``threshold_explorer`` hit this in CI under load
(jupyter/nbclient#312 is the same report). :func:`notebook_client`'s stand-in sends through the
asyncio socket itself, which re-checks for a waiting reply after every send.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional

__all__ = ["NOTEBOOK_DIR", "list_notebooks", "inject_parameters", "notebook_client", "execute_notebook", "run_series",
           "NotebookError"]

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"


class NotebookError(RuntimeError):
    """A notebook failed while executing; the message names the cell and the error."""


def list_notebooks(folder: os.PathLike | str = NOTEBOOK_DIR) -> list[Path]:
    """The series, in order (``01_...ipynb``, ``02_...``)."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def inject_parameters(nb, parameters: Mapping[str, object]):
    """Insert a cell overriding ``parameters`` after the cell tagged ``parameters`` (or first).

    Values are written with :func:`repr`, so they must be literals (str, int, float, bool, None,
    lists/dicts of those).
    """
    import nbformat

    if not parameters:
        return nb
    src = "# Injected parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in parameters.items())
    cell = nbformat.v4.new_code_cell(src, metadata={"tags": ["injected-parameters"]})
    index = next(
        (i + 1 for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])),
        0,
    )
    nb.cells.insert(index, cell)
    return nb


def notebook_client(nb, *, timeout: int = 900, kernel_name: str = "python3", cwd: os.PathLike | str | None = None,
                    **options):
    """An :class:`nbclient.NotebookClient` for ``nb`` whose ipywidgets ``Output`` stand-in cannot
    hide a cell's reply (see the module docstring).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook; executing it fills its outputs in place.
    timeout : int
        Seconds allowed per cell.
    kernel_name : str
        The Jupyter kernel.
    cwd : path-like, optional
        The kernel's working folder.
    **options
        Further ``NotebookClient`` options.
    """
    from nbclient import NotebookClient

    from facelab.course._nbclient_widgets import OutputWidget

    resources = {"metadata": {"path": str(cwd)}} if cwd is not None else {}
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, resources=resources, **options)
    # An instance attribute, filled in NotebookClient.__init__ (nbclient 0.11).
    client.widget_registry["@jupyter-widgets/output"]["OutputModel"] = OutputWidget
    return client


def execute_notebook(
    path: os.PathLike | str,
    *,
    parameters: Optional[Mapping[str, object]] = None,
    output: Optional[os.PathLike | str] = None,
    timeout: int = 900,
    kernel_name: str = "python3",
):
    """Execute one notebook headless and return the executed notebook.

    Parameters
    ----------
    path : path-like
        The notebook.
    parameters : mapping, optional
        Values that override the ``parameters`` cell.
    output : path-like, optional
        Where to save the executed notebook (with outputs).
    timeout : int
        Seconds allowed per cell.

    Raises
    ------
    NotebookError
        Naming the failing cell.
    """
    import nbformat
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    inject_parameters(nb, parameters or {})
    client = notebook_client(nb, timeout=timeout, kernel_name=kernel_name, cwd=path.parent)
    try:
        client.execute()
    except CellExecutionError as exc:
        raise NotebookError(f"{path.name}: {exc}") from None
    finally:
        if output is not None:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(output))
    return nb


def run_series(
    out_dir: os.PathLike | str,
    *,
    parameters: Optional[Mapping[str, object]] = None,
    notebooks: Optional[Sequence[os.PathLike | str]] = None,
    timeout: int = 900,
) -> list[Path]:
    """Execute the whole series with the same parameters, saving executed copies in ``out_dir``."""
    out_dir = Path(out_dir)
    written = []
    for nb_path in notebooks or list_notebooks():
        target = out_dir / Path(nb_path).name
        execute_notebook(nb_path, parameters=parameters, output=target, timeout=timeout)
        written.append(target)
    return written
