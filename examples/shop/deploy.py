"""Write the manifests of what runs where, as a deployment pipeline would.

    python examples/shop/deploy.py

staging runs the current checkout (order.v3); prod still runs the previous release (order.v2).
Each manifest is written by ``syscontract inventory`` from the service's own code, into
``deployments/<environment>/<service>.json``. Then ``syscontract drift examples/shop/deployments``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
DEPLOYMENTS = {
    "staging": {
        "checkout": "checkout/checkout.py",
        "pricing": "pricing/pricing.py",
        "entitlements": "entitlements/entitlements.py",
    },
    "prod": {
        "checkout": "checkout/checkout_legacy.py",
        "pricing": "pricing/pricing.py",
        "entitlements": "entitlements/entitlements.py",
    },
}


def main() -> int:
    for environment, services in DEPLOYMENTS.items():
        for service, module in services.items():
            output = HERE / "deployments" / environment / f"{service}.json"
            command = [
                sys.executable, "-m", "syscontract", "inventory", str(HERE / module),
                "--service", service, "--environment", environment,
                "--contracts", str(HERE / "contracts"), "-o", str(output),
            ]  # fmt: skip
            subprocess.run(command, check=True)
            print(f"wrote {output.relative_to(HERE.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
