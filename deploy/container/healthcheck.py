"""The image's HEALTHCHECK: /healthz of the service in this container answers 200.

The port is RAPPORT_HTTP_PORT when set; otherwise whichever service default answers (the
container runs one service, and the image does not know which).
"""

import os
import sys
import urllib.request

ports = [os.environ["RAPPORT_HTTP_PORT"]] if os.environ.get("RAPPORT_HTTP_PORT") else []
for port in ports or ["9101", "9102", "9103"]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            sys.exit(0 if response.status == 200 else 1)
    except OSError:
        continue
sys.exit(1)
