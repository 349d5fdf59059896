"""Give this file to Locust before your locustfile and tenfold's open model drives it::

    locust -f tenfold/load/open_model.py,my_locustfile.py --headless --host http://127.0.0.1:8080 \
        --scenario-file scenario.yaml --load-profile quick --run-dir runs/x

(``tenfold run --locustfile my_locustfile.py`` does exactly that.) Locust takes the shape and the clock user from
here and the users from your file; each arrival of the scenario's schedule runs one of their tasks.
"""

from __future__ import annotations

from tenfold.load.locust_plugin import OpenModelClock, OpenModelShape, install

__all__ = ["OpenModelClock", "OpenModelShape"]

install()
