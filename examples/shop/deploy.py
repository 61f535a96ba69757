"""Write the manifests of what runs where, and of two releases, as a deployment pipeline would.

    python examples/shop/deploy.py

- ``previous/``: the previous release (checkout on order.v2, pricing at list prices), as built
  (environment ``build``);
- ``release/``: the current release (checkout on order.v3 with customerTier, pricing by tier);
- ``deployments/staging/``: staging has applied the release;
- ``deployments/prod/``: prod still runs the previous release.

Each manifest is written by ``syscontract inventory`` from the service's own code. Then
``syscontract drift examples/shop/deployments`` and ``syscontract plan`` (see README.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
PREVIOUS = {
    "checkout": "checkout/checkout_legacy.py",
    "entitlements": "entitlements/entitlements.py",
    "pricing": "pricing/pricing_legacy.py",
}
RELEASE = {
    "checkout": "checkout/checkout.py",
    "entitlements": "entitlements/entitlements.py",
    "pricing": "pricing/pricing.py",
}
MANIFESTS = {  # directory -> (environment, services)
    "previous": ("build", PREVIOUS),
    "release": ("build", RELEASE),
    "deployments/staging": ("staging", RELEASE),
    "deployments/prod": ("prod", PREVIOUS),
}


def main() -> int:
    for directory, (environment, services) in MANIFESTS.items():
        for service, module in services.items():
            output = HERE / directory / f"{service}.json"
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
