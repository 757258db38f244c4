"""The notebook series as a whole: it runs top to bottom, leaves nothing in the lab, shows no secret.

(pytest --nbval also re-runs each notebook and compares its outputs with the stored ones.)
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from vicifast_kit import lab, settings

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_the_series_is_numbered_and_each_notebook_says_what_you_will_learn_and_need():
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(len(NOTEBOOKS))]
    for path in NOTEBOOKS:
        first = nbformat.read(path, as_version=4).cells[0]
        assert first.cell_type == "markdown", path.name
        assert "What you will learn" in first.source and "What you need" in first.source, path.name


def test_no_stored_output_shows_a_password_or_an_api_key():
    values = settings.lab_values()
    secrets = {values["ARI_PASSWORD"], values["AMI_SECRET"], values["SIP_PASSWORD"], "api_key"}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                text = str(output.get("text", "")) + str(output.get("data", {}))
                assert not [s for s in secrets if s in text], f"{path.name} shows a secret"


@pytest.mark.timeout(900)
def test_running_every_notebook_leaves_no_channel_bridge_or_recording():
    assert lab.leftovers(timeout=10) == {"channels": 0, "bridges": 0, "recordings": 0}, "the lab was not clean before"
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        assert lab.leftovers(timeout=10) == {"channels": 0, "bridges": 0, "recordings": 0}, f"{path.name} left something"
