"""The notebooks' stored outputs show no secret of the lab (its generated passwords are on this machine).

Their shape is checked offline (tests/offline/test_notebook_shape.py); nbval re-runs each notebook against the
lab and compares its outputs with the stored ones, and tests/notebook_leftovers.py checks that each leaves
nothing of its own in the lab.
"""

import re
from pathlib import Path

import nbformat

from vicifast_kit import settings

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_no_stored_output_shows_a_password_or_an_api_key():
    """No generated password, and no api_key with a value: only the shell variables a learner fills in
    (`api_key=$ARI_USER:$ARI_PASSWORD`, as w.websocket() writes it) or the wire's mask."""
    values = settings.lab_values()
    secrets = {values[name] for name in settings.SECRET_NAMES}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                text = str(output.get("text", "")) + str(output.get("data", {}))
                assert not [s for s in secrets if s in text], f"{path.name} shows a secret"
                keys = re.findall(r"api_key=([^&\s\"'<]*)", text)
                assert all(k in ("$ARI_USER:$ARI_PASSWORD", "********") for k in keys), \
                    f"{path.name} shows an api_key value: {keys}"
