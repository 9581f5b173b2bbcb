"""Every notebook executes headless (papermill-style parameters), and is committed with outputs stripped."""

from __future__ import annotations

import nbformat
import pytest

from facelab.notebooks import NOTEBOOK_DIR, execute_notebook, inject_parameters, list_notebooks

NOTEBOOKS = list_notebooks()


def test_the_series_is_there():
    names = [p.name[:2] for p in NOTEBOOKS]
    assert names == sorted(names) and len(NOTEBOOKS) >= 1
    assert sorted(NOTEBOOK_DIR.glob("*.ipynb")) == NOTEBOOKS  # every notebook is part of the series


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_and_parametrised(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: strip outputs before committing"
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    assert "DATASET" in tagged[0].source


def test_inject_parameters_goes_after_the_tagged_cell():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("DATASET = None", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(DATASET)")]
    inject_parameters(nb, {"DATASET": "/x", "N": 3})
    assert nb.cells[2].source == "# Injected parameters\nDATASET = '/x'\nN = 3\n"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path, two_id_dir, monkeypatch):
    # The notebooks' default set is the two-ID set; point them at the session's copy.
    monkeypatch.setenv("FACELAB_TWO_ID", str(two_id_dir))
    nb = execute_notebook(path, parameters={"DATASET": str(two_id_dir)}, output=tmp_path / path.name)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert any(o.output_type == "display_data" and "image/png" in o.get("data", {})
               for c in nb.cells if c.cell_type == "code" for o in c.outputs), "the notebook draws no picture"
